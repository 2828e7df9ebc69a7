// One job: its facts (refreshed while it runs), its events, and the live log
// tail streamed from /dashboard/api/jobs/<id>/events (Server-Sent Events).
'use strict';

(() => {
  const { el, duration, usage, stateBadge, time, getJson, safeHref } = window.sb;
  const jobId = decodeURIComponent(location.pathname.split('/').pop());
  const api = `/dashboard/api/jobs/${encodeURIComponent(jobId)}`;
  const log = document.getElementById('log');
  const events = document.querySelector('#events tbody');
  const seen = new Set();
  let finished = false;

  function fact(dl, label, value) {
    if (value === undefined || value === null || value === '') return;
    dl.append(el('dt', '', label), value instanceof Node ? el('dd', '', undefined, value) : el('dd', '', value));
  }

  function renderJob(j) {
    document.getElementById('title').textContent = `${j.project} #${j.issue}`;
    document.getElementById('state').replaceWith(Object.assign(stateBadge(j.state), { id: 'state' }));
    document.title = `Switchboard · ${j.project} #${j.issue} · ${j.state}`;
    const dl = document.getElementById('facts');
    dl.replaceChildren();
    fact(dl, 'job', j.id);
    fact(dl, 'request', j.request);
    fact(dl, 'channel', `#${j.channel}`);
    fact(dl, 'requester', j.requester);
    fact(dl, 'queue position', j.queuePosition);
    fact(dl, 'step', j.step && `${j.step}${j.stepText ? ` — ${j.stepText}` : ''}`);
    fact(dl, 'asked', time(j.createdAt));
    fact(dl, 'started', time(j.startedAt));
    fact(dl, 'finished', time(j.finishedAt));
    fact(dl, j.finishedAt ? 'ran' : 'for', duration(j.durationMs));
    fact(dl, 'usage', usage(j.usage));
    fact(dl, 'summary', j.summary);
    fact(dl, 'reason', j.reason);
    if (j.prUrl) {
      const href = safeHref(j.prUrl);
      const a = el(href ? 'a' : 'span', '', j.prUrl);
      if (href) a.href = href;
      fact(dl, 'pull request', a);
    }
    fact(dl, 'branch', j.branch);
    finished = ['done', 'failed', 'cancelled'].includes(j.state);
    document.body.dataset.state = j.state;
  }

  function addEvent(e) {
    if (seen.has(e.id)) return;
    seen.add(e.id);
    events.append(el('tr', `event event-${e.type}`, undefined, el('td', 'dim', time(e.ts)), el('td', '', e.type), el('td', 'what', e.text)));
    if (e.type === 'log') {
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(document.createTextNode(`${e.text}\n`));
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
  }

  async function refreshJob() {
    try {
      const { job } = await getJson(api);
      renderJob(job);
    } catch {
      /* the next refresh tries again */
    }
    if (!finished) setTimeout(refreshJob, 2000);
  }

  async function start() {
    const first = await getJson(api);
    renderJob(first.job);
    first.events.forEach(addEvent);
    const status = document.getElementById('tail-status');
    const source = new EventSource(`${api}/events?after=${encodeURIComponent(first.cursor)}`);
    source.onopen = () => (status.textContent = 'live');
    source.addEventListener('agent', (m) => addEvent(JSON.parse(m.data)));
    source.addEventListener('end', () => {
      source.close();
      status.textContent = 'the job has ended';
      void getJson(api).then((r) => renderJob(r.job));
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) status.textContent = 'disconnected';
      else status.textContent = 'reconnecting…';
    };
    if (!finished) setTimeout(refreshJob, 2000);
  }

  start().catch((err) => (document.getElementById('tail-status').textContent = `could not load the job (${err.message})`));
})();
