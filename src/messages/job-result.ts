// The result posted into a job's thread when it ends: what came of it, how
// long it took, and a Retry button when it did not succeed. Pure.
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
  quotedCode,
  type Inline,
  type Message,
  type MessageBlock,
  type RichText,
} from '../domain/message.js';
import { gpuTimeText } from './gpu-usage.js';
import { agentText, droppedLinesText, elapsed, jobTitle, retryButton, safeLink, stepLabel } from './job-parts.js';

function facts(job: JobRecord, now: number): (RichText | undefined)[] {
  const usage =
    job.promptTokens || job.completionTokens
      ? [
          text(
            `tokens: ${job.promptTokens.toLocaleString('en-US')} in / ${job.completionTokens.toLocaleString('en-US')} out${job.costUsd !== undefined ? ` · $${job.costUsd.toFixed(2)}` : ''}${job.gpuSeconds ? ` · ${gpuTimeText(job.gpuSeconds)}` : ''}`,
          ),
        ]
      : undefined;
  const dropped = droppedLinesText(job);
  return [
    [text(`took ${elapsed(job, now)}`)],
    usage,
    job.branch ? [text('branch '), code(agentText(job.branch))] : undefined,
    dropped ? [text(dropped)] : undefined,
  ];
}

export function resultMessage(job: JobRecord, now = Date.now()): Message {
  const title = jobTitle(job);
  const plainTitle = text(`${job.project} #${job.issue}`);
  if (job.state === 'done') {
    const pr = job.prUrl ? [text(' — '), ...safeLink(job.prUrl, 'pull request')] : [];
    const blocks: MessageBlock[] = [section(emoji('white_check_mark'), text(' '), title, text(' is done'), ...pr)];
    if (job.summary) blocks.push({ type: 'quote', text: agentText(job.summary) });
    blocks.push(contextLine(...joined(facts(job, now), ' · ')));
    return { blocks, summary: [plainTitle, text(' is done'), ...(job.prUrl ? [text(`: ${agentText(job.prUrl)}`)] : [])] };
  }
  const step = stepLabel(job);
  const cancelled = job.state === 'cancelled';
  const verb: Inline[] = cancelled
    ? job.cancelledBy
      ? [text(' was cancelled by '), mention(job.cancelledBy)]
      : [text(' was cancelled')]
    : [text(' failed')];
  const at = step ? [text(` at ${step}`)] : [];
  const why = job.reason ?? (cancelled ? undefined : 'no reason was given');
  const blocks: MessageBlock[] = [section(emoji(cancelled ? 'no_entry_sign' : 'x'), text(' '), title, ...verb, ...at)];
  if (why) blocks.push(section({ type: 'text', text: 'Why:', bold: true }, ...quotedCode(` ${agentText(why)}`)));
  blocks.push(
    contextLine(
      ...joined(
        [
          ...facts(job, now),
          [text('the channel is free again: press Retry or say '), code('retry'), text(' in this thread to run it again')],
        ],
        ' · ',
      ),
    ),
  );
  blocks.push(actions(retryButton(job)));
  return { blocks, summary: [plainTitle, ...verb, ...(why ? [text(`: ${agentText(why)}`)] : [])] };
}
