// Answers to what people say, as Slack messages. Every "no" says why and what
// to do instead.
import { formatDuration } from '../../domain/job.js';
import type { Reply } from '../../dispatch/chat-requests.js';
import { isSafeLinkUrl } from '../../domain/text.js';
import { context, section, shown, type SlackMessage } from './blocks.js';

/** Channel mentions for IDs only (catalogue IDs are validated; this keeps it so). */
const channelList = (ids: readonly string[]) => ids.filter((c) => /^[CGD][A-Z0-9]+$/.test(c)).map((c) => `<#${c}>`).join(', ');
/** A link to a thread, when Slack's permalink is a plain https URL. */
const threadLink = (url: string | undefined, label: string) => (url !== undefined && isSafeLinkUrl(url) ? `<${url}|${label}>` : undefined);

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
        text: `I didn't understand "${shown(reply.text)}".`,
        blocks: [
          section(`:thinking_face: I didn't understand “${shown(reply.text)}”.${reply.hint ? ` ${shown(reply.hint)}` : ''}`),
          context('Try `fix #58 in billing-api`, or say `help` for everything I understand.'),
        ],
      };
    case 'info':
      return plain(shown(reply.text));
    case 'too-long':
      return plain(`:warning: That message is too long for me (${reply.length.toLocaleString('en-US')} characters; I read at most ${reply.limit.toLocaleString('en-US')}). Say it shorter, like \`fix #58 in billing-api\`.`);
    case 'internal-error':
      return plain(`:boom: Something went wrong on my side, so nothing was started (internal error, ref \`${reply.ref}\`). Try again in a minute; if it keeps happening, give the ref to whoever runs Switchboard.`);
    case 'rejected': {
      const where = reply.channels?.length ? ` Ask in one of: ${channelList(reply.channels)}.` : '';
      return plain(`:warning: ${shown(reply.message)}${where}`);
    }
    case 'busy': {
      const job = reply.running;
      const what = job ? `*${shown(job.project)} #${job.issue}* (started by <@${job.user}> ${formatDuration(now - job.createdAt)} ago)` : 'another job';
      const link = threadLink(reply.link, 'its thread');
      const where = link ? ` Follow it in ${link}.` : '';
      return plain(`:no_entry: This channel is busy with ${what}: one job per channel at a time.${where} Ask again when it has finished.`);
    }
    case 'status': {
      const job = reply.job;
      if (!job) return plain('Nothing is running in this channel. Start a job with `fix #58 in <project>`.');
      const step = job.step !== undefined ? `step ${job.step}/${job.totalSteps ?? '?'} (${shown(job.stepName ?? '')})` : job.state;
      const link = threadLink(reply.link, 'thread');
      const where = link ? ` · ${link}` : '';
      return plain(`*${shown(job.project)} #${job.issue}* — ${step} · ${formatDuration(now - (job.startedAt ?? job.createdAt))}${where}`);
    }
  }
}
