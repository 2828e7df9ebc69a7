// A platform-neutral chat message (after botkube's pkg/api/message.go): what
// dispatch and relay code say, with no chat markup in it. Text is structured
// (plain, mention, channel, link, code, emoji), so only a renderer decides how
// each piece is written and escaped: src/slack/render/block-kit.ts for Slack.
// Pure: no Slack, Redis or Docker.

/** One piece of inline text. */
export type Inline =
  | { type: 'text'; text: string; bold?: boolean; italic?: boolean }
  /** A user, by the chat platform's user id. */
  | { type: 'mention'; userId: string }
  /** A channel, by the chat platform's channel id. */
  | { type: 'channel'; channelId: string }
  /** Only http(s) URLs become links; anything else is shown as text. */
  | { type: 'link'; url: string; label?: string }
  | { type: 'code'; text: string }
  /** A short name like `white_check_mark`. */
  | { type: 'emoji'; name: string }
  /** A moment, shown in the reader's own time zone where the platform can (epoch milliseconds). */
  | { type: 'time'; at: number };

/** Inline pieces, written one after the other. */
export type RichText = readonly Inline[];

export interface Field {
  label: string;
  value: RichText;
}

export interface ConfirmDialog {
  title: string;
  text: string;
  confirm: string;
  deny: string;
  /** A destructive confirmation (Cancel). */
  danger?: boolean;
}

export interface Button {
  /** What the listener binds to (`job.cancel`, `job.retry`, `question.answer`). */
  actionId: string;
  label: string;
  /** Handed back with the press: a job id, a question id and answer, … */
  value?: string;
  style?: 'primary' | 'danger';
  confirm?: ConfirmDialog;
}

export type MessageBlock =
  | { type: 'header'; text: string }
  /** Text, fields (label: value pairs shown side by side), or both. */
  | { type: 'section'; text?: RichText; fields?: readonly Field[] }
  /** A quoted passage, such as an agent's summary. */
  | { type: 'quote'; text: string }
  /** Preformatted lines, such as recent log output. `keep: 'end'` shortens from the front. */
  | { type: 'code'; text: string; keep?: 'start' | 'end' }
  /** Small print: one or more short lines. */
  | { type: 'context'; items: readonly RichText[] }
  | { type: 'actions'; buttons: readonly Button[] }
  | { type: 'divider' };

export interface Message {
  blocks: readonly MessageBlock[];
  /** Plain words for notifications and screen readers; derived from the first text when left out. */
  summary?: RichText;
}

// ---------------------------------------------------------------- builders

export const text = (t: string): Inline => ({ type: 'text', text: t });
export const bold = (t: string): Inline => ({ type: 'text', text: t, bold: true });
export const italic = (t: string): Inline => ({ type: 'text', text: t, italic: true });
export const mention = (userId: string): Inline => ({ type: 'mention', userId });
export const channel = (channelId: string): Inline => ({ type: 'channel', channelId });
export const link = (url: string, label?: string): Inline => (label === undefined ? { type: 'link', url } : { type: 'link', url, label });
export const code = (t: string): Inline => ({ type: 'code', text: t });
export const emoji = (name: string): Inline => ({ type: 'emoji', name });
export const time = (at: number): Inline => ({ type: 'time', at });

export const section = (...pieces: Inline[]): MessageBlock => ({ type: 'section', text: pieces });
export const fields = (...f: Field[]): MessageBlock => ({ type: 'section', fields: f });
export const contextLine = (...pieces: Inline[]): MessageBlock => ({ type: 'context', items: [pieces] });
export const actions = (...buttons: Button[]): MessageBlock => ({ type: 'actions', buttons });

/**
 * Plain words in which `backticks` quote code (the one convention of the
 * plain-text messages dispatch and domain code write, such as "say `projects`")
 * as structured text: each quoted span becomes a code piece. An unpaired
 * backtick stays as it is.
 */
export function quotedCode(words: string): Inline[] {
  const out: Inline[] = [];
  let rest = words;
  for (;;) {
    const open = rest.indexOf('`');
    const close = open === -1 ? -1 : rest.indexOf('`', open + 1);
    if (close === -1) break;
    if (open > 0) out.push(text(rest.slice(0, open)));
    if (close > open + 1) out.push(code(rest.slice(open + 1, close)));
    rest = rest.slice(close + 1);
  }
  if (rest !== '') out.push(text(rest));
  return out;
}

/** Joins pieces with a separator, such as `' · '`, skipping the empty ones. */
export function joined(parts: readonly (RichText | undefined)[], separator: string): Inline[] {
  const out: Inline[] = [];
  for (const part of parts) {
    if (!part || part.length === 0) continue;
    if (out.length) out.push(text(separator));
    out.push(...part);
  }
  return out;
}

/** The words of rich text, without any markup: for logs, tests and fallbacks. */
export function plainText(rich: RichText): string {
  return rich
    .map((p) => {
      switch (p.type) {
        case 'text':
        case 'code':
          return p.text;
        case 'mention':
          return `@${p.userId}`;
        case 'channel':
          return `#${p.channelId}`;
        case 'link':
          return p.label ?? p.url;
        case 'emoji':
          return `:${p.name}:`;
        case 'time':
          return clockTime(p.at);
      }
    })
    .join('');
}

/** `14:03:09 UTC`: a moment as plain words, where the reader's time zone is unknown. */
export function clockTime(at: number): string {
  return `${new Date(at).toISOString().slice(11, 19)} UTC`;
}
