// The platform-neutral Message (src/domain/message.ts) as HTML for the local
// chat page: the second renderer beside Slack's Block Kit one. Every piece of
// text is escaped here, only http(s) URLs and this site's own paths become
// links, and buttons carry their action id, value and confirm dialog as data
// attributes that the page's script hands back unchanged.
import { clockTime, type Button, type Inline, type Message, type MessageBlock, type RichText } from '../../domain/message.js';

export interface HtmlNames {
  /** A user's display name by id (default: the id). */
  user?(id: string): string | undefined;
  /** A channel's name by id (default: the id). */
  channel?(id: string): string | undefined;
}

/** Longest preformatted text shown; longer text is cut (from the front for `keep: 'end'`). */
export const MAX_CODE_CHARS = 4000;
const ELLIPSIS = '…';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for element content and quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Emoji short names the messages use, as characters; others are shown as their name. */
const EMOJI: Record<string, string> = {
  white_check_mark: '✅',
  heavy_check_mark: '✔️',
  x: '❌',
  gear: '⚙️',
  hourglass_flowing_sand: '⏳',
  hourglass: '⌛',
  no_entry_sign: '🚫',
  stop_sign: '🛑',
  eyes: '👀',
  warning: '⚠️',
  question: '❓',
  lock: '🔒',
  rocket: '🚀',
  arrows_counterclockwise: '🔄',
  information_source: 'ℹ️',
  bulb: '💡',
  wave: '👋',
  robot_face: '🤖',
  memo: '📝',
  link: '🔗',
  busts_in_silhouette: '👥',
  clipboard: '📋',
  zzz: '💤',
  construction: '🚧',
  incoming_envelope: '📨',
  repeat: '🔁',
  thinking_face: '🤔',
  boom: '💥',
  no_entry: '⛔',
};
const EMOJI_NAME = /^[a-z0-9_+-]{1,100}$/;

/** An href for `url`, or undefined: only http(s) URLs, or a path on this site (`/…`, not `//…`). */
export function safeHref(url: string): string | undefined {
  if (/^\/(?![/\\])/.test(url) && !/[\s]/.test(url)) return url;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** An emoji short name as its character, or `:name:`; names with odd characters are dropped. */
export function emojiChar(name: string): string {
  if (!EMOJI_NAME.test(name)) return '';
  return EMOJI[name] ?? `:${name}:`;
}

function inline(p: Inline, names: HtmlNames): string {
  switch (p.type) {
    case 'text': {
      let s = escapeHtml(p.text);
      if (p.bold) s = `<strong>${s}</strong>`;
      if (p.italic) s = `<em>${s}</em>`;
      return s;
    }
    case 'code':
      return p.text === '' ? '' : `<code>${escapeHtml(p.text)}</code>`;
    case 'mention':
      return `<span class="sb-mention">@${escapeHtml(names.user?.(p.userId) ?? p.userId)}</span>`;
    case 'channel':
      return `<span class="sb-channel">#${escapeHtml(names.channel?.(p.channelId) ?? p.channelId)}</span>`;
    case 'link': {
      const href = safeHref(p.url);
      const label = escapeHtml(p.label === undefined || p.label.trim() === '' ? p.url : p.label);
      if (!href) return label;
      const external = href.startsWith('/') ? '' : ' target="_blank" rel="noopener noreferrer"';
      return `<a href="${escapeHtml(href)}"${external}>${label}</a>`;
    }
    case 'emoji':
      return escapeHtml(emojiChar(p.name));
    case 'time': {
      // The page shows it in the reader's time zone; UTC until its script has run.
      if (!Number.isFinite(p.at)) return '';
      return `<time datetime="${new Date(p.at).toISOString()}" data-ts="${Math.trunc(p.at)}">${escapeHtml(clockTime(p.at))}</time>`;
    }
  }
}

export function renderRichTextHtml(rich: RichText, names: HtmlNames = {}): string {
  return rich.map((p) => inline(p, names)).join('');
}

function codeText(b: Extract<MessageBlock, { type: 'code' }>): string {
  const chars = [...b.text];
  if (chars.length <= MAX_CODE_CHARS) return b.text;
  return b.keep === 'end' ? ELLIPSIS + chars.slice(-(MAX_CODE_CHARS - 1)).join('') : chars.slice(0, MAX_CODE_CHARS - 1).join('') + ELLIPSIS;
}

function button(b: Button): string {
  const attrs: [string, string | undefined][] = [
    ['type', 'button'],
    ['class', b.style],
    ['data-action-id', b.actionId],
    ['data-value', b.value],
  ];
  if (b.confirm) {
    attrs.push(
      ['data-confirm-title', b.confirm.title],
      ['data-confirm-text', b.confirm.text],
      ['data-confirm-ok', b.confirm.confirm],
      ['data-confirm-deny', b.confirm.deny],
      ['data-confirm-danger', b.confirm.danger ? 'true' : undefined],
    );
  }
  const written = attrs.filter((a): a is [string, string] => a[1] !== undefined).map(([k, v]) => `${k}="${escapeHtml(v)}"`);
  return `<button ${written.join(' ')}>${escapeHtml(b.label)}</button>`;
}

function block(b: MessageBlock, names: HtmlNames): string {
  switch (b.type) {
    case 'header':
      return `<h3>${escapeHtml(b.text)}</h3>`;
    case 'section': {
      const parts: string[] = [];
      if (b.text?.length) parts.push(`<p>${renderRichTextHtml(b.text, names)}</p>`);
      if (b.fields?.length) {
        const fields = b.fields.map(
          (f) => `<div class="sb-field"><b>${escapeHtml(f.label)}</b><span>${renderRichTextHtml(f.value, names)}</span></div>`,
        );
        parts.push(`<div class="sb-fields">${fields.join('')}</div>`);
      }
      return parts.join('');
    }
    case 'quote':
      return `<blockquote>${escapeHtml(b.text)}</blockquote>`;
    case 'code':
      return `<pre>${escapeHtml(codeText(b))}</pre>`;
    case 'context': {
      const items = b.items.filter((i) => i.length > 0);
      return items.length
        ? `<div class="sb-context">${items.map((i) => `<span>${renderRichTextHtml(i, names)}</span>`).join(' · ')}</div>`
        : '';
    }
    case 'actions':
      return b.buttons.length ? `<div class="sb-actions">${b.buttons.map(button).join('')}</div>` : '';
    case 'divider':
      return '<hr>';
  }
}

/** One message as an HTML fragment (a `div.sb-msg`), safe to insert into the page as is. */
export function renderHtml(msg: Message, names: HtmlNames = {}): string {
  return `<div class="sb-msg">${msg.blocks.map((b) => block(b, names)).join('')}</div>`;
}
