// The chat side of a job on the local chat page: the one status message,
// updated in place, and the result in the job's thread; the same duties as
// the Slack notifier, without a rate limit to share.
import type { JobRecord } from '../domain/job.js';
import type { Message } from '../domain/message.js';
import type { JobNotifier, RequestMark } from '../jobs/ports.js';
import type { LocalChatStore } from './local-chat-store.js';

export interface JobMessages {
  status(job: JobRecord, now: number): Message;
  result(job: JobRecord, now: number): Message;
}

export const BOT_USER = 'switchboard';

/** How the page marks a request message (Slack: the same emoji as reactions). */
const REQUEST_MARKS: Record<RequestMark, string> = { taken: 'eyes', done: 'white_check_mark', failed: 'x' };

export class LocalJobNotifier implements JobNotifier {
  /** Updates of one job, in the order they were made. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly store: LocalChatStore,
    private readonly messages: JobMessages,
    private readonly now: () => number = Date.now,
  ) {}

  async postStatus(job: JobRecord): Promise<string> {
    const posted = await this.store.post({
      channel: job.channel,
      author: 'bot',
      user: BOT_USER,
      message: this.messages.status(job, this.now()),
      ...(job.threadTs ? { threadId: job.threadTs } : {}),
    });
    return posted.id;
  }

  updateStatus(job: JobRecord): Promise<void> {
    const { statusTs } = job;
    if (!statusTs) return Promise.resolve();
    const previous = this.pending.get(job.id) ?? Promise.resolve();
    const next = previous.then(async () => void (await this.store.update(statusTs, this.messages.status(job, this.now()))));
    const settled = next.catch(() => undefined);
    this.pending.set(job.id, settled);
    void settled.then(() => {
      if (this.pending.get(job.id) === settled) this.pending.delete(job.id);
    });
    return next;
  }

  async postResult(job: JobRecord): Promise<void> {
    const thread = job.threadTs ?? job.statusTs;
    await this.store.post({
      channel: job.channel,
      author: 'bot',
      user: BOT_USER,
      message: this.messages.result(job, this.now()),
      ...(thread ? { threadId: thread } : {}),
    });
  }

  /** Marks the person's request message, as Slack's reactions do. */
  async markRequest(job: JobRecord, mark: RequestMark): Promise<void> {
    if (job.requestTs) await this.store.mark(job.requestTs, REQUEST_MARKS[mark]);
  }

  /** The thread on the local page (a path on this site). */
  async threadLink(job: JobRecord): Promise<string | undefined> {
    const thread = job.threadTs ?? job.statusTs;
    return thread ? `/?channel=${encodeURIComponent(job.channel)}#m-${thread}` : undefined;
  }
}
