// What a rendered Slack message is, and the one escape for text in mrkdwn.
export type Block = Record<string, unknown>;

export interface SlackMessage {
  /** Plain fallback for notifications and screen readers. */
  text: string;
  blocks: Block[];
}

/** Escapes &, < and > so user text cannot forge mentions or links. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
