// The local chat page as a chat adapter over the platform-neutral chat core
// (chat/chat-actions.ts), like Slack's Bolt listeners: what a person
// writes or presses goes to the same core, and its answer, a domain Message,
// is posted into the thread and rendered to HTML when served.
import type { ChatActions } from '../chat/chat-actions.js';
import { chatEvent } from '../chat/chat-event.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { LocalChatHandler } from './local-chat-routes.js';
import type { LocalChatStore } from './local-chat-store.js';
import { BOT_USER } from './local-job-notifier.js';

export interface LocalChatAdapterDeps {
  chat: ChatActions;
  store: LocalChatStore;
  logger: Logger;
  metrics: Metrics;
}

export class LocalChatAdapter implements LocalChatHandler {
  constructor(private readonly deps: LocalChatAdapterDeps) {}

  async message(posted: { id: string; channel: string; threadId?: string; user: string; text: string }): Promise<void> {
    const thread = posted.threadId ?? posted.id;
    const event = chatEvent(this.deps.logger, posted.id);
    // Everything written on the local page is addressed to the bot: the page is a conversation with it.
    const answer = await this.deps.chat.said(
      {
        text: posted.text,
        channel: posted.channel,
        user: posted.user,
        addressed: true,
        threadTs: thread,
        messageTs: posted.id,
        surface: posted.threadId ? 'thread' : 'message',
        sender: { dm: false, external: false },
      },
      event,
    );
    const { reply } = answer;
    if (reply.kind === 'queued' || reply.kind === 'busy' || reply.kind === 'rejected')
      this.deps.metrics.jobsRequested.inc({ outcome: reply.kind });
    if (reply.kind !== 'silent') event.log.info({ channel: posted.channel, reply: reply.kind }, 'answered a message on the local page');
    // A follow-up that reached the agent is acknowledged on the message itself, as Slack's reaction does.
    if (answer.reaction) await this.deps.store.mark(posted.id, answer.reaction);
    if (answer.message)
      await this.deps.store.post({ channel: posted.channel, threadId: thread, author: 'bot', user: BOT_USER, message: answer.message });
  }

  async action(press: {
    messageId: string;
    channel: string;
    threadId?: string;
    user: string;
    actionId: string;
    value?: string;
  }): Promise<void> {
    const thread = press.threadId ?? press.messageId;
    const event = chatEvent(this.deps.logger, press.messageId);
    const answer = await this.deps.chat.pressed(
      {
        actionId: press.actionId,
        ...(press.value !== undefined ? { value: press.value } : {}),
        user: press.user,
        channel: press.channel,
        messageTs: press.messageId,
        threadTs: thread,
        sender: { external: false },
      },
      event,
    );
    event.log.info({ action: press.actionId, reply: answer.reply.kind }, 'answered a button press on the local page');
    // Slack shows a press's answer to the presser alone; the local page has one person, so it goes into the thread.
    if (answer.message)
      await this.deps.store.post({ channel: press.channel, threadId: thread, author: 'bot', user: BOT_USER, message: answer.message });
  }
}
