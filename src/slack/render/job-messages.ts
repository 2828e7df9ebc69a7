// How a job looks in Slack: the one status message that is updated in place,
// and the final result posted into the thread.
import { formatDuration, type JobRecord } from '../../domain/job.js';
import { context, linkOrText, preformatted, section, shown, type SlackMessage } from './blocks.js';

const title = (job: JobRecord) => `*${shown(job.project)} #${job.issue}*`;

const stepLabel = (job: JobRecord) =>
  job.step !== undefined && job.totalSteps !== undefined ? `step ${job.step}/${job.totalSteps}${job.stepName ? ` (${shown(job.stepName)})` : ''}` : '';

function elapsed(job: JobRecord, now: number): string {
  const from = job.startedAt ?? job.createdAt;
  return formatDuration((job.finishedAt ?? now) - from);
}

function headline(job: JobRecord, now: number): { emoji: string; line: string } {
  switch (job.state) {
    case 'queued':
      return { emoji: ':hourglass_flowing_sand:', line: 'queued: waiting for a free agent slot' };
    case 'starting':
      return { emoji: ':rocket:', line: 'starting the agent…' };
    case 'running':
      return { emoji: ':gear:', line: `running${stepLabel(job) ? ` · ${stepLabel(job)}` : ''} · ${elapsed(job, now)}` };
    case 'done':
      return { emoji: ':white_check_mark:', line: `done in ${elapsed(job, now)}` };
    case 'failed':
      return { emoji: ':x:', line: `failed${stepLabel(job) ? ` at ${stepLabel(job)}` : ''} after ${elapsed(job, now)}` };
    case 'cancelled':
      return { emoji: ':no_entry_sign:', line: `cancelled after ${elapsed(job, now)}` };
  }
}

/** When this version of the status message was rendered, in the reader's own time zone (Slack's date token). */
function refreshedAt(now: number): string {
  const fallback = new Date(now).toISOString().slice(11, 19);
  return `updated <!date^${Math.floor(now / 1000)}^{time_secs}|${fallback} UTC>`;
}

export function renderStatus(job: JobRecord, now = Date.now()): SlackMessage {
  const { emoji, line } = headline(job, now);
  const blocks = [section(`${emoji} ${title(job)} — ${line}`)];
  if (job.state === 'running' && job.stepText) blocks.push(context(shown(job.stepText)));
  if (job.state === 'running' && job.recentLogs.length) blocks.push(preformatted(job.recentLogs));
  if (job.state === 'failed' && job.reason) blocks.push(section(`*Why:* ${shown(job.reason)}`));
  if (job.state === 'done' && job.prUrl) blocks.push(section(`:link: ${linkOrText(job.prUrl, 'Pull request')}`));
  blocks.push(context(`requested by <@${job.user}> · job \`${job.id}\`${job.host ? ` · on ${shown(job.host)}` : ''} · ${refreshedAt(now)}`));
  return { text: `${shown(job.project)} #${job.issue}: ${line}`, blocks };
}

function usageLine(job: JobRecord): string | undefined {
  if (!job.promptTokens && !job.completionTokens) return undefined;
  const cost = job.costUsd !== undefined ? ` · $${job.costUsd.toFixed(2)}` : '';
  return `tokens: ${job.promptTokens.toLocaleString('en-US')} in / ${job.completionTokens.toLocaleString('en-US')} out${cost}`;
}

export function renderResult(job: JobRecord, now = Date.now()): SlackMessage {
  const took = elapsed(job, now);
  const facts = [`took ${took}`, usageLine(job), job.branch ? `branch \`${shown(job.branch)}\`` : undefined].filter(
    (f): f is string => f !== undefined,
  );
  if (job.state === 'done') {
    const blocks = [section(`:white_check_mark: ${title(job)} is done${job.prUrl ? ` — ${linkOrText(job.prUrl, 'pull request')}` : ''}`)];
    if (job.summary) blocks.push(section(shown(job.summary).split('\n').map((l) => `> ${l}`).join('\n')));
    blocks.push(context(facts.join(' · ')));
    return { text: `${shown(job.project)} #${job.issue} is done${job.prUrl ? `: ${shown(job.prUrl)}` : ''}`, blocks };
  }
  const verb = job.state === 'cancelled' ? 'was cancelled' : 'failed';
  const blocks = [
    section(`:x: ${title(job)} ${verb}${stepLabel(job) ? ` at ${stepLabel(job)}` : ''}`),
    section(`*Why:* ${shown(job.reason ?? 'no reason was given')}`),
    context(`${facts.join(' · ')} · the channel is free again: say \`fix #${job.issue} in ${shown(job.project)}\` to try again`),
  ];
  return { text: `${shown(job.project)} #${job.issue} ${verb}: ${shown(job.reason ?? 'no reason was given')}`, blocks };
}
