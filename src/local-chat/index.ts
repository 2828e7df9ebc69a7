// SLACK_MODE=local, put together: the store of the page's conversations, its
// live feed, the job notifier the relay posts through, and the page's routes
// once the chat core exists (the dispatcher builds that between).
import type { Redis } from 'ioredis';
import type { ChatActions } from '../chat/chat-actions.js';
import type { HttpRoute } from '../observability/http-routes.js';
import type { Logger } from '../observability/logger.js';
import { LocalChatAdapter } from './local-chat-adapter.js';
import { LocalChatFeed } from './local-chat-feed.js';
import { localChatRoutes, type LocalChannel } from './local-chat-routes.js';
import { LocalChatStore, localChatKeys } from './local-chat-store.js';
import { LocalJobNotifier } from './local-job-notifier.js';
import { LocalConversationChat } from './local-conversation-chat.js';
import { statusMessage } from '../messages/job-status.js';
import { resultMessage } from '../messages/job-result.js';
import type { Metrics } from '../observability/metrics.js';
import type { HtmlNames } from './render/html.js';

/** The page's channels: two, so that a second job can run beside the first (one job per channel). */
export const LOCAL_CHANNELS: readonly LocalChannel[] = [
  { id: 'general', name: 'general' },
  { id: 'random', name: 'random' },
];
/** The one person using the local page. */
export const LOCAL_USER = 'you';

export interface LocalChat {
  notifier: LocalJobNotifier;
  conversationChat: LocalConversationChat;
  routes(chat: ChatActions): HttpRoute[];
  close(): void;
}

export function createLocalChat(deps: { redis: Redis; prefix: string; logger: Logger; metrics: Metrics }): LocalChat {
  const keys = localChatKeys(deps.prefix);
  const store = new LocalChatStore(deps.redis, keys);
  const names: HtmlNames = { channel: (id) => LOCAL_CHANNELS.find((c) => c.id === id)?.name };
  const feed = new LocalChatFeed({ redis: deps.redis, keys, store, names, logger: deps.logger });
  const notifier = new LocalJobNotifier(store, { status: (job, now) => statusMessage(job, now), result: resultMessage });
  return {
    notifier,
    conversationChat: new LocalConversationChat(store),
    routes: (chat) =>
      localChatRoutes({
        channels: LOCAL_CHANNELS,
        user: LOCAL_USER,
        store,
        feed,
        names,
        logger: deps.logger,
        handler: new LocalChatAdapter({ chat, store, logger: deps.logger, metrics: deps.metrics }),
      }),
    close: () => feed.close(),
  };
}
