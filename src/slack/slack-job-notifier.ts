// The chat side of a job, on Slack: one status message per job, updated in
// place (chat.update), the result posted into the job's thread, and reactions
// on the request. Messages are built platform-neutral (src/messages/) and
// rendered here; every call goes through the SlackDelivery: budgets,
// priorities, retries, outbox.
import type { JobRecord } from '../domain/job.js';
import type { JobNotifier, RequestMark, StatusPacer } from '../jobs/ports.js';
import type { RequestContext } from '../jobs/ports.js';
import { ErrorCode, UserFacingError } from '../errors.js';
import { statusMessage } from '../messages/job-status.js';
import { resultMessage } from '../messages/job-result.js';
import { renderMessage } from './render/block-kit.js';
import type { SlackDelivery } from './delivery/slack-delivery.js';

/** The reaction for each mark on a request message. */
export const REQUEST_REACTIONS: Record<RequestMark, string> = { taken: 'eyes', done: 'white_check_mark', failed: 'x' };

export class SlackJobNotifier implements JobNotifier {
  constructor(private readonly delivery: SlackDelivery) {}

  async postStatus(job: JobRecord): Promise<string> {
    const d = await this.delivery
      .call({
        method: 'chat.postMessage',
        args: { channel: job.channel, thread_ts: job.threadTs, ...renderMessage(statusMessage(job)) },
        priority: 'post',
        jobId: job.id,
        statusOf: job.id,
      })
      .catch((err: { data?: { error?: string } }) => {
        const code = err.data?.error;
        if (code === 'not_in_channel' || code === 'channel_not_found' || code === 'is_archived') {
          throw new UserFacingError(
            ErrorCode.ChatNotInChannel,
            "I can't post in this channel: invite me with `/invite @Switchboard` and ask again.",
          );
        }
        throw err;
      });
    const ts = d.outcome === 'delivered' ? (d.result as { ts?: string }).ts : undefined;
    if (!ts) throw new Error(`Slack did not take the status message (${d.outcome})`);
    return ts;
  }

  async updateStatus(job: JobRecord, info: { changedAt?: number; final?: boolean } = {}): Promise<void> {
    const { statusTs } = job;
    if (!statusTs) return;
    await this.delivery.call({
      method: 'chat.update',
      // Rendered when the call goes out, so "updated at" is the time Slack shows it.
      args: () => ({ channel: job.channel, ts: statusTs, ...renderMessage(statusMessage(job, Date.now())) }),
      channel: job.channel,
      priority: info.final ? 'urgent' : 'progress',
      jobId: job.id,
      coalesceKey: `status:${job.id}`,
      statusOf: job.id,
      durable: info.final === true,
      ...(info.changedAt !== undefined ? { changedAt: info.changedAt } : {}),
    });
  }

  async postResult(job: JobRecord): Promise<void> {
    await this.delivery.call({
      method: 'chat.postMessage',
      args: { channel: job.channel, thread_ts: job.threadTs ?? job.statusTs, ...renderMessage(resultMessage(job)) },
      priority: 'urgent',
      jobId: job.id,
      durable: true,
    });
  }

  async markRequest(job: JobRecord, mark: RequestMark): Promise<void> {
    if (!job.requestTs) return;
    await this.delivery
      .call({
        method: 'reactions.add',
        args: { channel: job.channel, timestamp: job.requestTs, name: REQUEST_REACTIONS[mark] },
        priority: 'post',
        jobId: job.id,
      })
      .catch((err: { data?: { error?: string } }) => {
        // A replica that took over may mark again; Slack says so, and that is fine.
        if (err.data?.error === 'already_reacted') return;
        throw err;
      });
  }

  async threadLink(job: JobRecord): Promise<string | undefined> {
    const ts = job.threadTs ?? job.statusTs;
    if (!ts) return undefined;
    const d = await this.delivery.call({
      method: 'chat.getPermalink',
      args: { channel: job.channel, message_ts: ts },
      priority: 'urgent',
      jobId: job.id,
    });
    return d.outcome === 'delivered' ? (d.result as { permalink?: string }).permalink : undefined;
  }

  /**
   * For the agent's commit and pull request (DESIGN §5): the thread's permalink,
   * the requester's display name and the channel's name. Each one that Slack
   * does not give is left out; none of them stops the job.
   */
  async describeRequest(job: JobRecord): Promise<RequestContext> {
    const ask = async <T>(method: string, args: Record<string, unknown>, pick: (r: T) => string | undefined) => {
      const d = await this.delivery.call({ method, args, priority: 'urgent', jobId: job.id }).catch(() => undefined);
      return d?.outcome === 'delivered' ? pick(d.result as T) || undefined : undefined;
    };
    type UserInfo = { user?: { name?: string; real_name?: string; profile?: { display_name?: string; real_name?: string } } };
    const [threadUrl, requester, channelName] = await Promise.all([
      this.threadLink(job).catch(() => undefined),
      ask<UserInfo>(
        'users.info',
        { user: job.user },
        (r) => r.user?.profile?.display_name || r.user?.profile?.real_name || r.user?.real_name || r.user?.name,
      ),
      ask<{ channel?: { name?: string } }>('conversations.info', { channel: job.channel }, (r) => r.channel?.name),
    ]);
    return { ...(threadUrl ? { threadUrl } : {}), ...(requester ? { requester } : {}), ...(channelName ? { channelName } : {}) };
  }

  statusPacer(jobId: string, baseMs: number): StatusPacer {
    return this.delivery.statusPacer(jobId, baseMs);
  }
}
