// The chat-surface port: what a dispatcher needs of the chat it talks through
// (Slack in socket or HTTP mode, or the local chat page). dispatcher.ts picks
// one (slack/slack-surface.ts, local-chat/local-surface.ts) and binds the chat
// core to it; jobs reach it only through its notifier and conversation chat.
import type { JobRecord } from '../domain/job.js';
import type { ConversationChat, JobNotifier } from '../jobs/ports.js';
import type { ChatActions } from './chat-actions.js';

/** The chat a dispatcher talks through: Slack (socket or http mode), or the local chat page (local mode). */
export interface ChatSurface {
  notifier: JobNotifier & { threadLink(job: JobRecord): Promise<string | undefined> };
  /** Where the conversation (questions, their answers) is shown. */
  conversationChat: ConversationChat;
  /** Binds the chat core to the chat and starts listening on PORT. */
  start(chat: ChatActions): Promise<void>;
  /** Takes no more messages. */
  stopListening(): Promise<void>;
  /** After the queue has stopped: what is left to deliver is delivered or kept. */
  close(): Promise<void>;
}
