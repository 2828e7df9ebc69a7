// The platform-neutral Message (src/domain/message.ts) as Slack Block Kit plus
// fallback text. The only place that writes mrkdwn for it: every piece of text
// is escaped here, ids and URLs are checked before they become mentions and
// links, and the result stays within Slack's limits however long the input.
import {
  clockTime,
  type Button,
  type ConfirmDialog,
  type Inline,
  type Message,
  type MessageBlock,
  type RichText,
} from '../../domain/message.js';
import { escapeMrkdwn, type Block, type SlackMessage } from './blocks.js';

export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 2000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /** Slack truncates long messages around here; we shorten on purpose instead. */
  messageText: 12_000,
  fallbackText: 3000,
} as const;

const ELLIPSIS = '…';
const SHORTENED_NOTE = '_(shortened: the full text was too long for one message)_';

// ---------------------------------------------------------------- escaping

// Formatting characters inside bold/italic/code would end the span early; look-alikes keep the words readable.
const noStars = (t: string) => t.replaceAll('*', '\u2217');
const noUnderscores = (t: string) => t.replaceAll('_', '\uFF3F');
const noBackticks = (t: string) => t.replaceAll('`', '\u02CB');

const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;
const EMOJI_NAME = /^[a-z0-9_+-]{1,100}$/;

/** An http(s) URL made safe inside `<…|…>`, or undefined when it is not one. */
function safeUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  return parsed.href.replaceAll('|', '%7C').replaceAll('<', '%3C').replaceAll('>', '%3E');
}

// ---------------------------------------------------------------- inline text

/** One piece as mrkdwn. Atomic pieces (mentions, links) are never cut. */
function piece(p: Inline): { mrkdwn: string; cut?: (room: number) => string } {
  switch (p.type) {
    case 'text': {
      const wrap = (t: string) => {
        // Slack only styles `*words*` whose markers touch the words: spaces stay outside.
        const words = t.trim();
        const lead = t.slice(0, t.length - t.trimStart().length);
        const trail = t.slice(t.trimEnd().length);
        let s = escapeMrkdwn(words);
        if (p.bold) s = `*${noStars(s)}*`;
        if (p.italic) s = `_${noUnderscores(s)}_`;
        return `${lead}${s}${trail}`;
      };
      // Bold/italic around nothing would show the markers: leave the text plain then.
      const styled = (t: string) => (t.trim() === '' ? escapeMrkdwn(t) : wrap(t));
      return { mrkdwn: styled(p.text), cut: (room) => styled(cutToFit(p.text, room, (t) => styled(t).length)) };
    }
    case 'code': {
      const styled = (t: string) => (t === '' ? '' : `\`${noBackticks(escapeMrkdwn(t))}\``);
      return { mrkdwn: styled(p.text), cut: (room) => styled(cutToFit(p.text, room, (t) => styled(t).length)) };
    }
    case 'mention':
      return { mrkdwn: USER_ID.test(p.userId) ? `<@${p.userId}>` : escapeMrkdwn(`@${p.userId}`) };
    case 'channel':
      return { mrkdwn: CHANNEL_ID.test(p.channelId) ? `<#${p.channelId}>` : escapeMrkdwn(`#${p.channelId}`) };
    case 'link': {
      const url = safeUrl(p.url);
      if (!url) return { mrkdwn: escapeMrkdwn(p.label ?? p.url) };
      const label = p.label === undefined || p.label.trim() === '' ? undefined : escapeMrkdwn(p.label);
      return { mrkdwn: label ? `<${url}|${label}>` : `<${url}>` };
    }
    case 'emoji':
      return { mrkdwn: EMOJI_NAME.test(p.name) ? `:${p.name}:` : '' };
    case 'time': {
      // Slack's date token shows the reader's own time zone; the fallback is for clients that can't.
      if (!Number.isFinite(p.at)) return { mrkdwn: '' };
      return { mrkdwn: `<!date^${Math.floor(p.at / 1000)}^{time_secs}|${clockTime(p.at)}>` };
    }
  }
}

/** The longest front part of `raw` whose written length (by `measure`) fits in `room`. */
function cutToFit(raw: string, room: number, measure: (t: string) => number): string {
  let chars = [...raw];
  if (measure(raw) <= room) return raw;
  // Escaping and markers only grow the text, so the front `room` characters are an upper bound; shrink from there.
  chars = chars.slice(0, Math.max(0, room));
  let over = measure(chars.join('')) - room;
  while (over > 0 && chars.length) {
    chars = chars.slice(0, Math.max(0, chars.length - Math.max(1, Math.ceil(over / 5))));
    over = measure(chars.join('')) - room;
  }
  return chars.join('');
}

/** Rich text as mrkdwn, at most `limit` characters; shortened text ends in "…". */
export function renderRichText(rich: RichText, limit: number): string {
  let out = '';
  for (const p of rich) {
    const { mrkdwn, cut } = piece(p);
    if (out.length + mrkdwn.length <= limit) {
      out += mrkdwn;
      continue;
    }
    const room = limit - out.length - ELLIPSIS.length;
    if (cut && room > 0) out += cut(room);
    return out + ELLIPSIS;
  }
  return out;
}

/** Plain text (header, button, dialog), cut at `limit` characters. */
function plain(text: string, limit: number): string {
  const chars = [...text];
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join('')}${ELLIPSIS}`;
}

const plainObject = (text: string, limit: number) => ({ type: 'plain_text', text: plain(text || ' ', limit), emoji: true });
const mrkdwnObject = (text: string) => ({ type: 'mrkdwn', text: text === '' ? ' ' : text });

// ---------------------------------------------------------------- blocks

function confirmDialog(c: ConfirmDialog): Record<string, unknown> {
  const dialog: Record<string, unknown> = {
    title: plainObject(c.title, SLACK_LIMITS.confirmTitle),
    text: plainObject(c.text, SLACK_LIMITS.confirmText),
    confirm: plainObject(c.confirm, SLACK_LIMITS.confirmButton),
    deny: plainObject(c.deny, SLACK_LIMITS.confirmButton),
  };
  if (c.danger) dialog.style = 'danger';
  return dialog;
}

function button(b: Button, actionId: string): Block {
  const el: Block = { type: 'button', action_id: actionId, text: plainObject(b.label, SLACK_LIMITS.buttonText) };
  if (b.value !== undefined) el.value = b.value.slice(0, SLACK_LIMITS.buttonValue);
  if (b.style) el.style = b.style;
  if (b.confirm) el.confirm = confirmDialog(b.confirm);
  return el;
}

/** Slack refuses two elements with one action_id in a message: later ones get `:2`, `:3`, … */
function uniqueActionIds(): (id: string) => string {
  const seen = new Map<string, number>();
  return (id) => {
    const base = id.slice(0, SLACK_LIMITS.actionId - 4);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}:${n}`;
  };
}

function codeText(b: Extract<MessageBlock, { type: 'code' }>, limit: number): string {
  // Fences inside would end the block early; ''' is as long, so lengths still add up.
  const written = (t: string) => escapeMrkdwn(t).replaceAll('```', "'''");
  const room = limit - 6;
  if (written(b.text).length <= room) return '```' + (written(b.text) || ' ') + '```';
  // Cut the raw text, not the escaped one, so no entity is left in halves.
  const reverse = (t: string) => [...t].reverse().join('');
  const measure = (t: string) => written(t).length;
  const body =
    b.keep === 'end'
      ? ELLIPSIS + written(reverse(cutToFit(reverse(b.text), room - 1, measure)))
      : written(cutToFit(b.text, room - 1, measure)) + ELLIPSIS;
  return '```' + body + '```';
}

function renderBlock(b: MessageBlock, actionId: (id: string) => string, limit: number): Block | undefined {
  const sectionLimit = Math.min(limit, SLACK_LIMITS.sectionText);
  switch (b.type) {
    case 'header':
      return { type: 'header', text: plainObject(b.text, Math.min(limit, SLACK_LIMITS.headerText)) };
    case 'section': {
      const block: Block = { type: 'section' };
      if (b.text?.length) block.text = mrkdwnObject(renderRichText(b.text, sectionLimit));
      if (b.fields?.length) {
        const each = Math.min(SLACK_LIMITS.fieldText, Math.floor(limit / Math.min(b.fields.length, SLACK_LIMITS.fields)));
        block.fields = b.fields
          .slice(0, SLACK_LIMITS.fields)
          .map((f) =>
            mrkdwnObject(renderRichText([{ type: 'text', text: f.label, bold: true }, { type: 'text', text: '\n' }, ...f.value], each)),
          );
      }
      return block.text || block.fields ? block : undefined;
    }
    case 'quote': {
      const quoted = b.text
        .split('\n')
        .map((l) => `> ${l}`)
        .join('\n');
      return {
        type: 'section',
        text: mrkdwnObject(renderRichText([{ type: 'text', text: quoted }], sectionLimit).replace(/^&gt; /gm, '> ')),
      };
    }
    case 'code':
      return { type: 'section', text: mrkdwnObject(codeText(b, sectionLimit)) };
    case 'context': {
      const items = b.items.filter((i) => i.length > 0).slice(0, SLACK_LIMITS.contextElements);
      if (!items.length) return undefined;
      const each = Math.min(SLACK_LIMITS.contextText, Math.floor(limit / items.length));
      return { type: 'context', elements: items.map((i) => mrkdwnObject(renderRichText(i, each))) };
    }
    case 'actions': {
      if (!b.buttons.length) return undefined;
      return {
        type: 'actions',
        elements: b.buttons.slice(0, SLACK_LIMITS.actionsElements).map((btn) => button(btn, actionId(btn.actionId))),
      };
    }
    case 'divider':
      return { type: 'divider' };
  }
}

/** The characters of text a rendered block shows. */
function textLength(block: Block): number {
  let n = 0;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) {
        if (k === 'text' && typeof inner === 'string') n += inner.length;
        else visit(inner);
      }
    }
  };
  visit(block);
  return n;
}

function fallbackOf(msg: Message): string {
  const first = msg.summary ?? firstText(msg.blocks);
  return renderRichText(first, SLACK_LIMITS.fallbackText) || ' ';
}

function firstText(blocks: readonly MessageBlock[]): RichText {
  for (const b of blocks) {
    if (b.type === 'header' || b.type === 'quote') return [{ type: 'text', text: b.text }];
    if (b.type === 'section' && b.text?.length) return b.text;
    if (b.type === 'section' && b.fields?.length)
      return b.fields.flatMap((f) => [{ type: 'text' as const, text: `${f.label}: ` }, ...f.value]);
  }
  return [];
}

/**
 * Renders a message. Buttons always survive; text blocks past the 50-block or
 * ~12,000-character budget are shortened or left out, with a note saying so.
 */
export function renderMessage(msg: Message): SlackMessage {
  const actionId = uniqueActionIds();
  // Buttons first, so a long message never loses its Cancel or Retry.
  const buttons = new Map<number, Block>();
  msg.blocks.forEach((b, i) => {
    if (b.type !== 'actions') return;
    const rendered = renderBlock(b, actionId, SLACK_LIMITS.messageText);
    if (rendered) buttons.set(i, rendered);
  });
  const reserved = [...buttons.values()].reduce((n, b) => n + textLength(b), 0);
  const noteRoom = SHORTENED_NOTE.length;
  let budget = SLACK_LIMITS.messageText - reserved - noteRoom;
  let slots = SLACK_LIMITS.blocks - buttons.size - 1;
  let shortened = false;
  const blocks: Block[] = [];
  msg.blocks.forEach((b, i) => {
    const kept = buttons.get(i);
    if (kept) return void blocks.push(kept);
    if (b.type === 'actions') return;
    if (slots <= 0 || budget <= 0) {
      shortened ||= b.type !== 'divider';
      return;
    }
    const rendered = renderBlock(b, actionId, budget);
    if (!rendered) return;
    const full = renderBlock(b, uniqueActionIds(), SLACK_LIMITS.messageText);
    if (full && textLength(full) > textLength(rendered)) shortened = true;
    budget -= textLength(rendered);
    slots -= 1;
    blocks.push(rendered);
  });
  if (shortened) blocks.push({ type: 'context', elements: [mrkdwnObject(SHORTENED_NOTE)] });
  return { text: fallbackOf(msg), blocks };
}
