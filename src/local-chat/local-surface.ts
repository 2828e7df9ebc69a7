// The local chat surface (SLACK_MODE=local): the chat page beside the
// dashboard on PORT, no Slack at all.
import type { Redis } from 'ioredis';
import type { ChatSurface } from '../chat/chat-surface.js';
import type { Config } from '../config/env.js';
import type { HttpRoute } from '../observability/http-routes.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { startWebServer, type WebServer } from '../web/http.js';
import { createLocalChat } from './index.js';

/** The chat page and the dashboard on PORT. */
export function localSurface(config: Config, routes: HttpRoute[], deps: { redis: Redis; logger: Logger; metrics: Metrics }): ChatSurface {
  const local = createLocalChat({ redis: deps.redis, prefix: config.redis.prefix, logger: deps.logger, metrics: deps.metrics });
  let server: WebServer | undefined;
  return {
    notifier: local.notifier,
    conversationChat: local.conversationChat,
    async start(chat) {
      server = await startWebServer({
        port: config.port,
        host: config.listenHost,
        routes: [...routes, ...local.routes(chat)],
        logger: deps.logger,
      });
      deps.logger.info({ url: `http://localhost:${config.port}/` }, 'the local chat page is up: open it in a browser');
    },
    async stopListening() {
      local.close();
      await server?.close();
    },
    close: async () => undefined,
  };
}
