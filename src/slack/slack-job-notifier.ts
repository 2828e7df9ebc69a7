// The chat side of a job, on Slack: one status message per job, updated in
// place (chat.update), and the result posted into the job's thread.
import type { WebClient } from '@slack/web-api';
import type { JobRecord } from '../domain/job.js';
import type { JobNotifier } from '../relay/job-notifier.js';
import { ErrorCode, UserFacingError } from '../errors.js';
import { renderResult, renderStatus } from './render/job-messages.js';

export class SlackJobNotifier implements JobNotifier {
  constructor(private readonly client: WebClient) {}

  async postStatus(job: JobRecord): Promise<string> {
    const res = await this.client.chat
      .postMessage({ channel: job.channel, thread_ts: job.threadTs, ...renderStatus(job) })
      .catch((err: { data?: { error?: string } }) => {
        const code = err.data?.error;
        if (code === 'not_in_channel' || code === 'channel_not_found' || code === 'is_archived') {
          throw new UserFacingError(ErrorCode.ChatNotInChannel, "I can't post in this channel: invite me with `/invite @Switchboard` and ask again.");
        }
        throw err;
      });
    if (!res.ts) throw new Error('Slack accepted the status message but returned no ts');
    return res.ts;
  }

  async updateStatus(job: JobRecord): Promise<void> {
    if (!job.statusTs) return;
    await this.client.chat.update({ channel: job.channel, ts: job.statusTs, ...renderStatus(job) });
  }

  async postResult(job: JobRecord): Promise<void> {
    await this.client.chat.postMessage({ channel: job.channel, thread_ts: job.threadTs ?? job.statusTs, ...renderResult(job) });
  }

  async threadLink(job: JobRecord): Promise<string | undefined> {
    const ts = job.threadTs ?? job.statusTs;
    if (!ts) return undefined;
    const res = await this.client.chat.getPermalink({ channel: job.channel, message_ts: ts });
    return res.permalink;
  }
}
