// The one status message of a job, updated in place while it runs. Pure: the
// relay builds it, a chat renderer (slack/render/) writes it out.
import type { JobRecord } from '../domain/job.js';
import {
  actions,
  code,
  contextLine,
  emoji,
  joined,
  mention,
  section,
  text,
  time,
  quotedCode,
  type Inline,
  type Message,
  type MessageBlock,
  type RichText,
} from '../domain/message.js';
import { gpuWaitText } from './gpu-usage.js';
import {
  agentText,
  cancelButton,
  droppedLinesText,
  elapsed,
  jobRef,
  jobTitle,
  ordinal,
  safeLink,
  stepLabel,
  threadLink,
} from './job-parts.js';

export interface StatusExtras {
  /** 1 for the next job to start; shown while the job is queued. */
  queuePosition?: number;
}

function headline(job: JobRecord, now: number, extras: StatusExtras): { icon: string; line: RichText } {
  const step = stepLabel(job);
  switch (job.state) {
    case 'queued': {
      // `busy: queue`: behind the channel's running job, not yet in the dispatch queue.
      if (job.waiting)
        return {
          icon: 'hourglass_flowing_sand',
          line: [text(`waiting for this channel's job to finish · ${ordinal(job.waiting.position)} in line`)],
        };
      const where = extras.queuePosition !== undefined ? `${ordinal(extras.queuePosition)} in line` : 'waiting for a free agent slot';
      return { icon: 'hourglass_flowing_sand', line: [text(`queued: ${where}`)] };
    }
    case 'starting':
    case 'running':
      if (job.cancelRequestedBy)
        return {
          icon: 'octagonal_sign',
          line: [text('cancelling: '), mention(job.cancelRequestedBy), text(` asked to stop it · ${elapsed(job, now)}`)],
        };
      if (job.state === 'starting') return { icon: 'rocket', line: [text('starting the agent…')] };
      return {
        icon: 'gear',
        line: [text(`running${step ? ` · ${step}` : ''} · ${elapsed(job, now)}${job.gpuWait ? ` · ${gpuWaitText(job.gpuWait)}` : ''}`)],
      };
    case 'done':
      return { icon: 'white_check_mark', line: [text(`done in ${elapsed(job, now)}`)] };
    case 'failed':
      return { icon: 'x', line: [text(`failed${step ? ` at ${step}` : ''} after ${elapsed(job, now)}`)] };
    case 'cancelled':
      return {
        icon: 'no_entry_sign',
        line: job.cancelledBy
          ? [text('cancelled by '), mention(job.cancelledBy), text(` after ${elapsed(job, now)}`)]
          : [text(`cancelled after ${elapsed(job, now)}`)],
      };
  }
}

/** The status message as of `now`; a Cancel button while the job can still be cancelled. */
export function statusMessage(job: JobRecord, now = Date.now(), extras: StatusExtras = {}): Message {
  const { icon, line } = headline(job, now, extras);
  const title: Inline[] = [emoji(icon), text(' '), jobTitle(job), text(' — '), ...line];
  const blocks: MessageBlock[] = [section(...title)];
  if (job.state === 'running' && job.stepText) blocks.push(contextLine(text(agentText(job.stepText))));
  if (job.state === 'running' && job.recentLogs.length)
    blocks.push({ type: 'code', text: agentText(job.recentLogs.join('\n')), keep: 'end' });
  if (job.state === 'failed' && job.reason)
    blocks.push(section({ type: 'text', text: 'Why:', bold: true }, ...quotedCode(` ${agentText(job.reason)}`)));
  if (job.state === 'done' && job.prUrl) blocks.push(section(emoji('link'), text(' '), ...safeLink(job.prUrl, 'Pull request')));
  if (job.retryOf) {
    const linked = threadLink(job.retryOf.link, 'the earlier run');
    const old = linked.length ? linked : [text('the earlier run '), code(job.retryOf.jobId)];
    blocks.push(contextLine(emoji('repeat'), text(' a retry of '), ...old));
  }
  blocks.push(
    contextLine(
      ...joined(
        [
          [text('requested by '), mention(job.user)],
          jobRef(job),
          job.host ? [text(`on ${agentText(job.host)}`)] : undefined,
          droppedLinesText(job) ? [text(droppedLinesText(job) ?? '')] : undefined,
          [text('updated '), time(now)],
        ],
        ' · ',
      ),
    ),
  );
  const cancellable = (job.state === 'queued' || job.state === 'starting' || job.state === 'running') && !job.cancelRequestedBy;
  if (cancellable) blocks.push(actions(cancelButton(job)));
  return { blocks, summary: [text(`${job.project} #${job.issue}: `), ...line] };
}
