// The job list: refreshed every two seconds from /dashboard/api/overview.
'use strict';

(() => {
  const { el, duration, usage, stateBadge, jobLink, time, getJson } = window.sb;

  /**
   * Shows `rows` in the table. A job's row that is already there stays the
   * same element and only its changed cells are swapped, so a refresh never
   * swallows a click on a link.
   */
  function fill(tableId, rows, countId) {
    const body = document.querySelector(`#${tableId} tbody`);
    const shown = new Map(Array.from(body.children, (r) => [r.dataset.jobId, r]).filter(([id]) => id));
    const next = rows.map((row) => {
      const prev = row.dataset.jobId && shown.get(row.dataset.jobId);
      if (!prev || prev.children.length !== row.children.length) return row;
      const cells = Array.from(row.children);
      Array.from(prev.children).forEach((cell, i) => {
        if (cell.outerHTML !== cells[i].outerHTML) cell.replaceWith(cells[i]);
      });
      prev.title = row.title;
      return prev;
    });
    const same = next.length === body.children.length && next.every((r, i) => body.children[i] === r);
    if (!same) body.replaceChildren(...next);
    if (countId) document.getElementById(countId).textContent = rows.length ? String(rows.length) : '';
  }

  function cells(...values) {
    const tr = el('tr');
    for (const v of values) tr.append(v instanceof Node ? el('td', '', undefined, v) : el('td', '', v));
    return tr;
  }

  function emptyRow(columns, text) {
    const td = el('td', 'empty', text);
    td.colSpan = columns;
    return el('tr', '', undefined, td);
  }

  function render(o) {
    const running = o.running.map((j) => {
      const tr = cells(stateBadge(j.state), jobLink(j), `#${j.channel}`, j.requester, j.step ?? '–', duration(j.durationMs), usage(j.usage));
      tr.dataset.jobId = j.id;
      if (j.stepText) tr.title = j.stepText;
      return tr;
    });
    fill('running', running.length ? running : [emptyRow(7, 'Nothing is running.')], 'running-count');
    document.getElementById('running-count').textContent = o.running.length ? String(o.running.length) : '';

    const queued = o.queued.map((j) => {
      const tr = cells(j.queuePosition ?? '–', jobLink(j), `#${j.channel}`, j.requester, duration(j.durationMs));
      tr.dataset.jobId = j.id;
      return tr;
    });
    fill('queued', queued.length ? queued : [emptyRow(5, 'The queue is empty.')]);
    document.getElementById('queued-count').textContent = o.queued.length ? String(o.queued.length) : '';

    const gpuTable = document.getElementById('gpu-queue');
    document.getElementById('gpu-off').hidden = Boolean(o.gpuQueue);
    gpuTable.hidden = !o.gpuQueue;
    if (o.gpuQueue) {
      const rows = o.gpuQueue.map((g) => cells(g.state, g.jobId, g.model, g.endpoint ?? '', time(g.since)));
      fill('gpu-queue', rows.length ? rows : [emptyRow(5, 'No inference request is waiting.')]);
      document.getElementById('gpu-count').textContent = o.gpuQueue.length ? String(o.gpuQueue.length) : '';
    }

    const finished = o.finished.map((j) => {
      const result = j.state === 'done' ? j.summary ?? '' : j.reason ?? '';
      const tr = cells(stateBadge(j.state), jobLink(j), `#${j.channel}`, j.requester, duration(j.durationMs), usage(j.usage), el('span', 'result', result));
      tr.dataset.jobId = j.id;
      return tr;
    });
    fill('finished', finished.length ? finished : [emptyRow(7, 'No finished jobs yet.')]);
    document.getElementById('finished-count').textContent = o.finished.length ? String(o.finished.length) : '';

    document.getElementById('updated').textContent = `updated ${time(o.generatedAt)}`;
    document.body.dataset.loaded = 'true';
  }

  async function refresh() {
    try {
      render(await getJson('/dashboard/api/overview'));
    } catch (err) {
      document.getElementById('updated').textContent = `could not refresh (${err.message})`;
    }
    setTimeout(refresh, 2000);
  }

  refresh();
})();
