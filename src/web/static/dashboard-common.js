// Shared by the dashboard pages. Every piece of text reaches the page through
// textContent (never innerHTML), so nothing a user or an agent wrote can
// become markup.
'use strict';

window.sb = {
  /** An element with optional class and text; children appended in order. */
  el(tag, cls, text, ...children) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (const c of children) if (c) e.append(c);
    return e;
  },

  duration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${s % 60}s`;
    return `${Math.floor(m / 60)}h ${m % 60}m`;
  },

  time(ms) {
    return ms ? new Date(ms).toLocaleTimeString() : '';
  },

  usage(u) {
    if (!u || (!u.promptTokens && !u.completionTokens && u.costUsd === undefined)) return '–';
    const tokens = `${(u.promptTokens + u.completionTokens).toLocaleString()} tokens`;
    return u.costUsd === undefined ? tokens : `${tokens} · $${u.costUsd.toFixed(2)}`;
  },

  stateBadge(state) {
    return window.sb.el('span', `state state-${state}`, state);
  },

  jobLink(job) {
    const a = window.sb.el('a', 'job-link', `${job.project} #${job.issue}`);
    a.href = `/dashboard/jobs/${encodeURIComponent(job.id)}`;
    return a;
  },

  /** Only plain http(s) URLs become links. */
  safeHref(url) {
    try {
      const u = new URL(url);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : undefined;
    } catch {
      return undefined;
    }
  },

  async getJson(url) {
    const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    return res.json();
  },
};
