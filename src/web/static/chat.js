// The local chat page: channels, threads, messages that update in place,
// buttons with their confirm dialogs. Messages arrive as HTML the server
// rendered and escaped (src/local-chat/render/html.ts); everything this
// script writes itself goes through textContent.
'use strict';

(() => {
  const params = new URLSearchParams(location.search);
  const state = { channel: params.get('channel') || 'general', threadId: undefined, cursor: '0', source: undefined };
  const list = document.getElementById('messages');
  const input = document.getElementById('text');
  const threadNote = document.getElementById('thread-note');

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  async function api(path, body) {
    const res = await fetch(path, body === undefined ? { headers: { accept: 'application/json' } } : { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : res.json();
  }

  /** The element of one message, made or refreshed from what the server sent. */
  function renderMessage(m) {
    let row = document.getElementById(`m-${m.id}`);
    if (!row) {
      row = el('div', `msg ${m.author}`);
      row.id = `m-${m.id}`;
      row.dataset.author = m.author;
      const who = m.author === 'bot' ? 'switchboard' : m.user;
      row.append(el('div', 'avatar', who.slice(0, 1).toUpperCase()));
      const body = el('div', 'body');
      const head = el('div', 'head');
      head.append(el('span', 'who', who), el('span', 'when', new Date(m.ts).toLocaleTimeString()), el('span', 'edited'), el('span', 'mark'));
      body.append(head, el('div', 'content'));
      row.append(body);
      placeMessage(row, m);
    }
    // Safe: the server built this HTML from escaped text and checked links.
    const content = row.querySelector('.content');
    setContent(content, m.html);
    // Moments are sent in UTC; shown in the reader's own time zone.
    for (const t of content.querySelectorAll('time[data-ts]')) t.textContent = new Date(Number(t.dataset.ts)).toLocaleTimeString();
    row.querySelector('.edited').textContent = m.editedTs ? `(updated ${new Date(m.editedTs).toLocaleTimeString()})` : '';
    if (m.editedTs) row.dataset.edited = String(m.editedTs);
    row.querySelector('.mark').textContent = m.mark ?? '';
    if (m.mark) row.dataset.mark = m.mark;
    return row;
  }

  /**
   * Puts a message's HTML in place. Buttons that did not change stay the same
   * elements, so a status update (every few seconds) never swallows a click.
   */
  function setContent(content, html) {
    const fresh = document.createElement('template');
    fresh.innerHTML = html;
    const before = [...content.querySelectorAll('.sb-actions')];
    [...fresh.content.querySelectorAll('.sb-actions')].forEach((next, i) => {
      const kept = before[i];
      if (kept && kept.outerHTML === next.outerHTML) next.replaceWith(kept);
    });
    content.replaceChildren(...fresh.content.childNodes);
  }

  function placeMessage(row, m) {
    if (!m.threadId) {
      const wrap = el('div', 'top');
      wrap.id = `t-${m.id}`;
      const replyLink = el('a', 'reply-link', 'Reply in thread');
      replyLink.href = '#';
      replyLink.addEventListener('click', (ev) => {
        ev.preventDefault();
        setThread(m.id);
      });
      const thread = el('div', 'thread');
      thread.hidden = true;
      wrap.append(row, thread, replyLink);
      list.append(wrap);
      return;
    }
    let parent = document.getElementById(`t-${m.threadId}`);
    if (!parent) {
      // A thread whose first message fell out of the page: show its replies on their own.
      parent = el('div', 'top');
      parent.id = `t-${m.threadId}`;
      parent.append(el('div', 'thread'));
      list.append(parent);
    }
    const thread = parent.querySelector('.thread');
    thread.hidden = false;
    thread.append(row);
  }

  function setThread(id) {
    state.threadId = id;
    if (id) document.body.dataset.threadId = id;
    else delete document.body.dataset.threadId;
    threadNote.hidden = !id;
    threadNote.textContent = id ? 'replying in a thread · Esc to leave' : '';
    input.placeholder = id ? 'Reply in the thread (cancel, status, …)' : 'Say fix #1 in demo, or help';
    input.focus();
  }

  function atBottom() {
    return list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
  }

  function show(m) {
    if (m.channel !== state.channel) return;
    const follow = atBottom();
    renderMessage(m);
    if (follow) list.scrollTop = list.scrollHeight;
  }

  async function openChannel(channel) {
    state.channel = channel;
    state.threadId = undefined;
    setThread(undefined);
    history.replaceState(null, '', `/?channel=${encodeURIComponent(channel)}`);
    for (const a of document.querySelectorAll('#channel-list a')) a.setAttribute('aria-current', a.dataset.channel === channel ? 'page' : 'false');
    const { messages, cursor } = await api(`/local/api/channels/${encodeURIComponent(channel)}/messages`);
    list.replaceChildren();
    messages.forEach(show);
    list.scrollTop = list.scrollHeight;
    state.cursor = cursor;
    follow();
    document.body.dataset.channel = channel;
  }

  function follow() {
    if (state.source) state.source.close();
    const source = new EventSource(`/local/api/feed?after=${encodeURIComponent(state.cursor)}`);
    source.addEventListener('message', (ev) => show(JSON.parse(ev.data)));
    source.onopen = () => (document.body.dataset.live = 'true');
    state.source = source;
  }

  async function loadChannels() {
    const { channels } = await api('/local/api/channels');
    const nav = document.getElementById('channel-list');
    nav.replaceChildren(
      ...channels.map((c) => {
        const a = el('a', '', `# ${c.name}`);
        a.href = `/?channel=${encodeURIComponent(c.id)}`;
        a.dataset.channel = c.id;
        a.addEventListener('click', (ev) => {
          ev.preventDefault();
          void openChannel(c.id);
        });
        return a;
      }),
    );
    if (!channels.some((c) => c.id === state.channel) && channels[0]) state.channel = channels[0].id;
  }

  document.getElementById('composer').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    try {
      await api('/local/api/messages', { channel: state.channel, text, ...(state.threadId ? { threadId: state.threadId } : {}) });
    } catch (err) {
      input.value = text;
      alertLine(`Could not send: ${err.message}`);
    }
  });

  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') setThread(undefined);
  });

  function alertLine(text) {
    const line = el('div', 'msg error', text);
    list.append(line);
  }

  /** Asks with the button's own dialog; resolves true when confirmed. */
  function confirmWith(button) {
    const d = button.dataset;
    if (!d.confirmTitle) return Promise.resolve(true);
    const dialog = document.getElementById('confirm');
    document.getElementById('confirm-title').textContent = d.confirmTitle;
    document.getElementById('confirm-text').textContent = d.confirmText || '';
    const ok = document.getElementById('confirm-ok');
    const deny = document.getElementById('confirm-deny');
    ok.textContent = d.confirmOk || 'OK';
    deny.textContent = d.confirmDeny || 'Cancel';
    ok.className = d.confirmDanger === 'true' ? 'danger' : 'primary';
    return new Promise((resolve) => {
      const done = (answer) => {
        ok.onclick = deny.onclick = dialog.oncancel = null;
        dialog.close();
        resolve(answer);
      };
      ok.onclick = () => done(true);
      deny.onclick = () => done(false);
      dialog.oncancel = () => done(false);
      dialog.showModal();
    });
  }

  list.addEventListener('click', async (ev) => {
    const button = ev.target.closest('button[data-action-id]');
    if (!button) return;
    const row = button.closest('.msg');
    if (!(await confirmWith(button))) return;
    button.disabled = true;
    try {
      await api('/local/api/actions', { messageId: row.id.replace(/^m-/, ''), actionId: button.dataset.actionId, value: button.dataset.value });
    } catch (err) {
      alertLine(`That did not work: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  });

  loadChannels()
    .then(() => openChannel(state.channel))
    .then(() => input.focus())
    .catch((err) => alertLine(`Could not load the chat: ${err.message}`));
})();
