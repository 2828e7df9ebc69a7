// The conversation's messages (jobs/conversation.ts: an agent's questions,
// then how they were settled) on the local chat page: posted in the job's
// thread and replaced in place, like the status message.
import type { JobRecord } from '../domain/job.js';
import type { Message } from '../domain/message.js';
import type { ConversationChat } from '../jobs/ports.js';
import type { LocalChatStore } from './local-chat-store.js';
import { BOT_USER } from './local-job-notifier.js';

export class LocalConversationChat implements ConversationChat {
  constructor(private readonly store: LocalChatStore) {}

  async postInThread(job: JobRecord, message: Message): Promise<string | undefined> {
    const thread = job.threadTs ?? job.statusTs;
    const posted = await this.store.post({
      channel: job.channel,
      author: 'bot',
      user: BOT_USER,
      message,
      ...(thread ? { threadId: thread } : {}),
    });
    return posted.id;
  }

  async update(_job: JobRecord, messageId: string, message: Message): Promise<void> {
    await this.store.update(messageId, message);
  }
}
