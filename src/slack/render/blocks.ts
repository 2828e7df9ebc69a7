// Small Block Kit builders that respect Slack's limits, so a long log line or
// summary can never get a message rejected.
import { isSafeLinkUrl, stripUrlCredentials } from '../../domain/text.js';

export type Block = Record<string, unknown>;

export interface SlackMessage {
  /** Plain fallback for notifications and screen readers. */
  text: string;
  blocks: Block[];
}

export const SECTION_TEXT_LIMIT = 3000;
export const CONTEXT_TEXT_LIMIT = 2000;

export function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

export const section = (mrkdwn: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text: clip(mrkdwn, SECTION_TEXT_LIMIT) } });

export const context = (...mrkdwn: string[]): Block => ({
  type: 'context',
  elements: mrkdwn.slice(0, 10).map((t) => ({ type: 'mrkdwn', text: clip(t, CONTEXT_TEXT_LIMIT) })),
});

/** A preformatted block, with Slack's ``` fences escaped out of the content. */
export const preformatted = (lines: string[]): Block =>
  section('```' + clip(shown(lines.join('\n')).replaceAll('```', "'''"), SECTION_TEXT_LIMIT - 6) + '```');

/** Escapes &, < and > so user text cannot forge mentions or links. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * Any text a user, an agent or the catalogue supplied, made safe to show:
 * URL credentials stripped, then escaped (no live mentions, no forged links).
 */
export function shown(text: string): string {
  return escapeMrkdwn(stripUrlCredentials(text));
}

/** `<url|label>` when the URL is a plain https link (domain/text.ts), else the label and the URL as escaped text. */
export function linkOrText(url: string, label: string): string {
  return isSafeLinkUrl(url) ? `<${url}|${label}>` : `${label} (${shown(url)})`;
}
