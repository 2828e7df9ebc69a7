// `list` / `jobs`: the running and queued jobs a person may see, with their
// places in the queue. Pure.
import { isFinished, type ListedJob } from '../domain/job.js';
import {
  channel,
  code,
  contextLine,
  mention,
  text,
  type Field,
  type Message,
  type MessageBlock,
  type RichText,
} from '../domain/message.js';
import { elapsed, ordinal, stepLabel, threadLink } from './job-parts.js';

/** Slack shows at most 10 fields in a section; longer lists get more sections. */
const FIELDS_PER_SECTION = 10;
/** Beyond this many, the rest are only counted. */
export const LIST_LIMIT = 40;

function describe(l: ListedJob, now: number): RichText {
  const { job } = l;
  const what: RichText =
    job.state === 'queued'
      ? job.waiting
        ? [text(`waiting for its channel · ${ordinal(job.waiting.position)} in line there`)]
        : [text(`queued · ${l.position !== undefined ? `${ordinal(l.position)} in line` : 'waiting'}`)]
      : job.state === 'starting'
        ? [text('starting')]
        : [text(`running${stepLabel(job) ? ` · ${stepLabel(job)}` : ''} · ${elapsed(job, now)}`)];
  const link = threadLink(l.link, 'thread');
  const thread = link.length ? [text(' · '), ...link] : [];
  return [...what, text(' · '), mention(job.user), text(' in '), channel(job.channel), ...thread];
}

export function jobListMessage(listed: readonly ListedJob[], now = Date.now()): Message {
  const open = listed.filter((l) => !isFinished(l.job));
  if (open.length === 0) {
    return {
      blocks: [
        {
          type: 'section',
          text: [text('No jobs you can see are running or queued. Start one with '), code('fix #58 in <project>'), text('.')],
        },
      ],
    };
  }
  // Running first, then the queue in order.
  // Jobs waiting behind their channel's job (`busy: queue`) come after the queue.
  const rank = (l: ListedJob) => l.position ?? (l.job.waiting ? 1_000_000 + l.job.waiting.position : 0);
  const ordered = [...open].sort((a, b) => rank(a) - rank(b) || a.job.createdAt - b.job.createdAt);
  const shown = ordered.slice(0, LIST_LIMIT);
  const fields: Field[] = shown.map((l) => ({ label: `${l.job.project} #${l.job.issue}`, value: describe(l, now) }));
  const blocks: MessageBlock[] = [{ type: 'header', text: 'Jobs you can see' }];
  for (let i = 0; i < fields.length; i += FIELDS_PER_SECTION)
    blocks.push({ type: 'section', fields: fields.slice(i, i + FIELDS_PER_SECTION) });
  blocks.push({ type: 'divider' });
  const running = open.filter((l) => l.job.state !== 'queued').length;
  const more = open.length > shown.length ? ` (the first ${shown.length} shown)` : '';
  blocks.push(
    contextLine(text(`${running} running · ${open.length - running} queued${more} · `), code('status'), text(" for this channel's job")),
  );
  return {
    blocks,
    summary: [text(`${open.length} job${open.length === 1 ? '' : 's'}: ${running} running, ${open.length - running} queued`)],
  };
}
