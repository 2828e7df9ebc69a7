// What the bot answers to what people say or press, as platform-neutral
// messages. Every "no" says why and what to do instead. Pure.
import { formatDuration } from '../domain/job.js';
import {
  channel,
  code,
  contextLine,
  emoji,
  joined,
  mention,
  quotedCode,
  section,
  text,
  type Inline,
  type Message,
  type RichText,
} from '../domain/message.js';
import type { Reply } from './replies.js';
import type { ControlOutcome } from '../jobs/job-control.js';
import { jobTitle, stepLabel, threadLink } from '../messages/job-parts.js';
import { helpMessage } from './help.js';
import { jobListMessage } from '../messages/job-list.js';
import { readingMessage } from './reading-message.js';

const plain = (...pieces: Inline[]): Message => ({ blocks: [section(...pieces)] });
const CHANNEL_ID = /^[CGD][A-Z0-9]+$/;
const WHO_MAY = 'the requester or a project admin';

/** The reply to show, or undefined when the bot stays quiet (or the status message speaks for itself). */
export function replyMessage(reply: Reply, now = Date.now()): Message | undefined {
  switch (reply.kind) {
    case 'silent':
    case 'queued':
      return undefined;
    // A follow-up or an answer that reached the agent is acknowledged by a reaction or the updated question; a refusal says why.
    case 'follow-up':
    case 'question-answer':
      return reply.outcome.kind === 'refused' ? reply.outcome.message : undefined;
    case 'help':
      return helpMessage();
    case 'not-understood':
      return {
        summary: [text(`I didn't understand "${reply.text}".`)],
        blocks: [
          section(
            emoji('thinking_face'),
            text(` I didn't understand “${reply.text}”.`),
            ...(reply.hint ? quotedCode(` ${reply.hint}`) : []),
          ),
          contextLine(text('Try '), code('fix #58 in billing-api'), text(', or say '), code('help'), text(' for everything I understand.')),
        ],
      };
    case 'info':
      return plain(...quotedCode(reply.text));
    case 'projects':
      return reply.projects.length
        ? plain(
            text('Projects you can start here:'),
            ...reply.projects.flatMap((p): Inline[] => [text('\n• '), code(p.name), ...(p.tracker ? [text(` (${p.tracker})`)] : [])]),
          )
        : plain(text('No project is open to you in this channel. Ask whoever runs Switchboard to add it to the project catalogue.'));
    case 'too-long':
      return plain(
        emoji('warning'),
        text(
          ` That message is too long for me (${reply.length.toLocaleString('en-US')} characters; I read at most ${reply.limit.toLocaleString('en-US')}). Say it shorter, like `,
        ),
        code('fix #58 in billing-api'),
        text('.'),
      );
    case 'internal-error':
      return plain(
        emoji('boom'),
        text(' Something went wrong on my side, so nothing was started (internal error, ref '),
        code(reply.ref),
        text('). Try again in a minute; if it keeps happening, give the ref to whoever runs Switchboard.'),
      );
    case 'rejected': {
      const where = (reply.channels ?? []).filter((c) => CHANNEL_ID.test(c));
      const ask: Inline[] = where.length
        ? [
            text(' Ask in one of: '),
            ...joined(
              where.map((c) => [channel(c)]),
              ', ',
            ),
            text('.'),
          ]
        : [];
      return plain(emoji('warning'), ...quotedCode(` ${reply.message}`), ...ask);
    }
    case 'which-project':
      // `fix #58` with no project: several projects' trackers have #58 (DESIGN §2).
      return {
        summary: [text(`Which project's #${reply.issue}?`)],
        blocks: [
          section(emoji('mag'), text(` More than one project you can use has an issue #${reply.issue}. Which one?`)),
          section(
            ...joined(
              reply.projects.map((p) => [code(`fix #${reply.issue} in ${p}`)]),
              ' · ',
            ),
          ),
        ],
      };
    case 'busy': {
      // A later refusal of a burst: counted in the first one's answer.
      if (reply.quiet) return undefined;
      const job = reply.running;
      const others: Inline[] = reply.alsoAsked ? [text(` (and ${reply.alsoAsked.toLocaleString('en-US')} more asked)`)] : [];
      const what: Inline[] = job
        ? [jobTitle(job), text(' (started by '), mention(job.user), text(` ${formatDuration(now - job.createdAt)} ago)`)]
        : [text('another job')];
      const thread = threadLink(reply.link, 'its thread');
      const link: Inline[] = thread.length ? [text(' Follow it in '), ...thread, text('.')] : [];
      return {
        summary: [text('This channel is busy with another job.'), ...others],
        blocks: [
          section(
            emoji('no_entry'),
            text(' This channel is busy with '),
            ...what,
            text(': one job per channel at a time.'),
            ...others,
            ...link,
          ),
          contextLine(
            text('Ask again when it has finished, or say '),
            code('cancel'),
            text(' in its thread to stop it (the requester or a project admin may).'),
          ),
        ],
      };
    }
    case 'status': {
      const job = reply.job;
      if (!job) return plain(text('Nothing is running in this channel. Start a job with '), code('fix #58 in <project>'), text('.'));
      const step = stepLabel(job) || job.state;
      const thread = threadLink(reply.link, 'thread');
      const link: Inline[] = thread.length ? [text(' · '), ...thread] : [];
      return plain(jobTitle(job), text(` — ${step} · ${formatDuration(now - (job.startedAt ?? job.createdAt))}`), ...link);
    }
    case 'reading':
    case 'reading-not-yours':
    case 'reading-gone':
    case 'reading-dropped':
      return readingMessage(reply);
    default:
      return controlMessage(reply, now);
  }
}

/** Answers to Cancel, Retry and list. */
export function controlMessage(outcome: ControlOutcome, now = Date.now()): Message | undefined {
  switch (outcome.kind) {
    case 'cancel-requested':
      return plain(
        emoji('octagonal_sign'),
        text(' Cancelling '),
        jobTitle(outcome.job),
        text(': the agent gets a short grace period, then it is stopped.'),
      );
    case 'cancelled-queued':
      return plain(
        emoji('no_entry_sign'),
        text(' Cancelled '),
        jobTitle(outcome.job),
        text(' before it started; the channel is free again.'),
      );
    case 'already-cancelling':
      return plain(jobTitle(outcome.job), text(' is already being cancelled (by '), mention(outcome.by), text(').'));
    case 'already-finished': {
      const how: RichText =
        outcome.job.state === 'cancelled' && outcome.job.cancelledBy
          ? [text('was cancelled by '), mention(outcome.job.cancelledBy)]
          : [text(`has already ${outcome.job.state === 'done' ? 'finished' : outcome.job.state}`)];
      return plain(jobTitle(outcome.job), text(' '), ...how, text(': there is nothing to cancel.'));
    }
    case 'not-allowed':
      return plain(emoji('lock'), text(` Only ${WHO_MAY} may ${outcome.action} `), jobTitle(outcome.job), text('.'));
    case 'no-job':
      return outcome.action === 'cancel'
        ? plain(text('Nothing is running in this channel to cancel.'))
        : plain(text('Say '), code('retry'), text(' in the thread of a finished job, or press its Retry button.'));
    case 'still-running':
      return plain(
        jobTitle(outcome.job),
        text(` is still ${outcome.job.state}: say `),
        code('cancel'),
        text(' first if you want to run it again.'),
      );
    case 'retry-pending':
      return plain(jobTitle(outcome.job), text(' is already being run again.'));
    case 'retried': {
      const next = outcome.outcome;
      if (next.kind === 'queued')
        return plain(
          emoji('repeat'),
          text(' Running '),
          jobTitle(outcome.previous),
          text(' again as job '),
          code(next.job.id),
          text(': follow it in the new thread in this channel.'),
        );
      return replyMessage(next, now);
    }
    case 'list':
      return jobListMessage(outcome.jobs, now);
  }
}
