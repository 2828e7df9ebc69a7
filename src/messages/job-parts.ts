// Pieces shared by the job messages (status, result, list): the job's title,
// its step, how long it took, and its buttons. Pure.
import { ACTIONS } from '../domain/actions.js';
import { formatDuration, type JobRecord } from '../domain/job.js';
import { bold, code, link, text, type Button, type Inline, type RichText } from '../domain/message.js';
import { isSafeLinkUrl, stripUrlCredentials } from '../domain/text.js';

/** Text from an agent, a user or the catalogue: credentials in URLs never reach chat. */
export const agentText = (t: string): string => stripUrlCredentials(t);

export const jobTitle = (job: Pick<JobRecord, 'project' | 'issue'>): Inline => bold(`${job.project} #${job.issue}`);

export function stepLabel(job: JobRecord): string {
  if (job.step === undefined || job.totalSteps === undefined) return '';
  return `step ${job.step}/${job.totalSteps}${job.stepName ? ` (${agentText(job.stepName)})` : ''}`;
}

/** Time since the job started (or was created), up to its end. */
export function elapsed(job: JobRecord, now: number): string {
  return formatDuration((job.finishedAt ?? now) - (job.startedAt ?? job.createdAt));
}

/** A link when the URL is a plain https link, else the label with the URL as text. */
export function safeLink(url: string, label: string): RichText {
  return isSafeLinkUrl(url) ? [link(url, label)] : [text(`${label} (${agentText(url)})`)];
}

/** A link to a chat thread, or nothing when the permalink is not a plain https URL. */
export function threadLink(url: string | undefined, label: string): RichText {
  return url !== undefined && isSafeLinkUrl(url) ? [link(url, label)] : [];
}

/** "job `abc123`" */
export const jobRef = (job: Pick<JobRecord, 'id'>): RichText => [text('job '), code(job.id)];

/** "1st", "2nd", "3rd", "11th" … */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

export function cancelButton(job: Pick<JobRecord, 'id'>): Button {
  return {
    actionId: ACTIONS.cancelJob,
    label: 'Cancel',
    value: job.id,
    style: 'danger',
    confirm: {
      title: 'Cancel this job?',
      text: 'The agent gets a short grace period to stop, then it is stopped for good.',
      confirm: 'Cancel the job',
      deny: 'Keep it running',
      danger: true,
    },
  };
}

export function retryButton(job: Pick<JobRecord, 'id'>): Button {
  return { actionId: ACTIONS.retryJob, label: 'Retry', value: job.id, style: 'primary' };
}

/** "1,234 log lines dropped" when the runner capped a flooding agent's output; undefined when none were. */
export function droppedLinesText(job: Pick<JobRecord, 'droppedLogLines'>): string | undefined {
  const n = job.droppedLogLines ?? 0;
  return n > 0 ? `${n.toLocaleString('en-US')} log line${n === 1 ? '' : 's'} dropped` : undefined;
}
