// What the runner writes into the commit and the pull/merge request: the
// agent's summary, who asked in which channel, and the way back to the thread.
// Markdown for the tracker (not chat markup): names go in code spans so that
// a Slack name never mentions a GitHub or GitLab user of the same name.

export interface PublishContext {
  issue?: number;
  /** `acme/demo#58`. */
  ref: string;
  title?: string;
  summary: string;
  requester?: string;
  channelName?: string;
  threadUrl?: string;
  jobId: string;
  trackerType: 'github' | 'gitlab';
}

const oneLine = (t: string) => t.replace(/\s+/g, ' ').trim();
const codeSpan = (t: string) => `\`${oneLine(t).replace(/`/g, "'")}\``;
const MAX_TITLE = 72;
const MAX_SUMMARY = 4000;

export function titleFor(c: PublishContext): string {
  const head = `Fix ${c.issue === undefined ? c.ref : `#${c.issue}`}`;
  const full = c.title ? `${head}: ${oneLine(c.title)}` : head;
  return full.length > MAX_TITLE ? `${full.slice(0, MAX_TITLE - 1)}…` : full;
}

const summaryOf = (c: PublishContext) => (c.summary.length > MAX_SUMMARY ? `${c.summary.slice(0, MAX_SUMMARY)} …` : c.summary).trim();

/** The commit message: title, summary, and trailers naming the requester and the thread. */
export function commitMessageFor(c: PublishContext): string {
  const trailers = [
    c.requester ? `Requested-by: ${oneLine(c.requester)}${c.channelName ? ` in #${oneLine(c.channelName)}` : ''} (Slack)` : undefined,
    c.threadUrl ? `Slack-Thread: ${oneLine(c.threadUrl)}` : undefined,
    `Switchboard-Job: ${c.jobId}`,
  ].filter(Boolean);
  return `${titleFor(c)}\n\n${summaryOf(c) || 'Changes made by the agent.'}\n\n${trailers.join('\n')}\n`;
}

/** The pull/merge request's body. */
export function pullRequestBodyFor(c: PublishContext): string {
  const who = c.requester ? `Requested by ${codeSpan(`@${c.requester}`)}` : 'Requested';
  const where = c.channelName ? ` in ${codeSpan(`#${c.channelName}`)}` : '';
  const thread = c.threadUrl ? ` — [Slack thread](${c.threadUrl.replace(/[()\s]/g, encodeURIComponent)})` : '';
  const closes = c.issue === undefined ? [] : [`${c.trackerType === 'github' ? 'Fixes' : 'Closes'} #${c.issue}`, ''];
  return [
    summaryOf(c) || 'Changes made by the agent.',
    '',
    ...closes,
    `${who}${where}${thread}.`,
    '',
    `_Opened by Switchboard for job \`${c.jobId}\`._`,
  ].join('\n');
}
