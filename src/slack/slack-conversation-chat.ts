// The conversation's messages on Slack (jobs/conversation.ts): questions
// posted in the job's thread and updated once settled. Every call goes
// through the SlackDelivery.
import type { JobRecord } from '../domain/job.js';
import type { Message } from '../domain/message.js';
import type { ConversationChat } from '../jobs/ports.js';
import { renderMessage } from './render/block-kit.js';
import type { SlackDelivery } from './delivery/slack-delivery.js';

export class SlackConversationChat implements ConversationChat {
  constructor(private readonly delivery: SlackDelivery) {}

  async postInThread(job: JobRecord, message: Message): Promise<string | undefined> {
    const d = await this.delivery.call({
      method: 'chat.postMessage',
      args: { channel: job.channel, thread_ts: job.threadTs ?? job.statusTs, ...renderMessage(message) },
      // A question blocks the agent: it goes before progress, and is kept for later if Slack is down.
      priority: 'urgent',
      jobId: job.id,
    });
    return d.outcome === 'delivered' ? (d.result as { ts?: string }).ts : undefined;
  }

  async update(job: JobRecord, messageId: string, message: Message): Promise<void> {
    await this.delivery.call({
      method: 'chat.update',
      args: { channel: job.channel, ts: messageId, ...renderMessage(message) },
      priority: 'urgent',
      jobId: job.id,
      durable: true,
    });
  }
}
