// Answers to what people say, as Slack messages. Every "no" says why and what
// to do instead.
import { formatDuration } from '../../domain/job.js';
import type { Reply } from '../../dispatch/chat-requests.js';
import { context, escapeMrkdwn, section, type SlackMessage } from './blocks.js';

const plain = (text: string): SlackMessage => ({ text, blocks: [section(text)] });

/** The reply to show, or undefined when the bot stays quiet (or the status message speaks for itself). */
export function renderReply(reply: Reply, now = Date.now()): SlackMessage | undefined {
  switch (reply.kind) {
    case 'silent':
    case 'queued':
      return undefined;
    case 'help':
      return { text: 'How to use Switchboard', blocks: [section(reply.text)] };
    case 'not-understood':
      return {
        text: `I didn't understand "${escapeMrkdwn(reply.text)}".`,
        blocks: [
          section(`:thinking_face: I didn't understand “${escapeMrkdwn(reply.text)}”.${reply.hint ? ` ${reply.hint}` : ''}`),
          context('Try `fix #58 in billing-api`, or say `help` for everything I understand.'),
        ],
      };
    case 'info':
      return plain(reply.text);
    case 'internal-error':
      return plain(`:boom: Something went wrong on my side, so nothing was started (internal error, ref \`${reply.ref}\`). Try again in a minute; if it keeps happening, give the ref to whoever runs Switchboard.`);
    case 'rejected':
      return plain(`:warning: ${reply.message}`);
    case 'busy': {
      const job = reply.running;
      const what = job ? `*${escapeMrkdwn(job.project)} #${job.issue}* (started by <@${job.user}> ${formatDuration(now - job.createdAt)} ago)` : 'another job';
      const where = reply.link ? ` Follow it in <${reply.link}|its thread>.` : '';
      return plain(`:no_entry: This channel is busy with ${what}: one job per channel at a time.${where} Ask again when it has finished.`);
    }
    case 'status': {
      const job = reply.job;
      if (!job) return plain('Nothing is running in this channel. Start a job with `fix #58 in <project>`.');
      const step = job.step !== undefined ? `step ${job.step}/${job.totalSteps ?? '?'} (${escapeMrkdwn(job.stepName ?? '')})` : job.state;
      const where = reply.link ? ` · <${reply.link}|thread>` : '';
      return plain(`*${escapeMrkdwn(job.project)} #${job.issue}* — ${step} · ${formatDuration(now - (job.startedAt ?? job.createdAt))}${where}`);
    }
  }
}
