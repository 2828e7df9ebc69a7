// The Slack chat surface (socket or HTTP mode): the Bolt app with its
// listeners, the connection's health, and the rate-aware delivery every job's
// messages go through.
import type { Redis } from 'ioredis';
import type { ChatSurface } from '../chat/chat-surface.js';
import type { Config } from '../config/env.js';
import type { Keys } from '../domain/keys.js';
import type { HttpRoute } from '../observability/http-routes.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { EventDedupe } from '../state/event-dedupe.js';
import { startWebServer, type WebServer } from '../web/http.js';
import { createSlackApp, registerErrorHandler } from './app.js';
import { SlackDelivery, createDeliveryClient, defaultBudgetSettings } from './delivery/index.js';
import { registerListeners } from './listeners/index.js';
import { outageReply } from './outage-reply.js';
import type { SlackConnection, SlackIdentity } from './slack-connection.js';
import { SlackConversationChat } from './slack-conversation-chat.js';
import { SlackJobNotifier } from './slack-job-notifier.js';

export function slackSurface(
  config: Config,
  routes: HttpRoute[],
  deps: {
    redis: Redis;
    keys: Keys;
    dedupe: EventDedupe;
    logger: Logger;
    metrics: Metrics;
    connection: SlackConnection;
    redisAvailable: () => boolean;
    onFatal: (err: Error) => void;
  },
): ChatSurface {
  const { logger, metrics, connection } = deps;
  const botToken = config.slack.botToken;
  if (botToken === undefined) throw new Error('SLACK_BOT_TOKEN is required outside SLACK_MODE=local'); // loadConfig says so first
  const app = createSlackApp({
    slack: config.slack,
    port: config.port,
    host: config.listenHost,
    routes,
    logger,
    identity: (): Promise<SlackIdentity> => connection.whenIdentified(),
    onSocketState: (state) => {
      connection.socketState(state);
      // A dropped socket may mean Slack is down, or our token was revoked: find out, and say it once.
      if (state === 'disconnected') connection.recheck();
    },
  });
  registerErrorHandler(app, logger);
  let server: WebServer | undefined;
  // Every Web API call made for a job goes through the delivery (budgets shared in Redis, priorities, retries).
  const delivery = new SlackDelivery({
    client: createDeliveryClient({ token: botToken, apiUrl: config.slack.apiUrl, timeoutMs: config.slackDelivery.callTimeoutMs }),
    token: botToken,
    redis: deps.redis,
    keys: deps.keys,
    budgets: defaultBudgetSettings({
      methodLimits: config.slackDelivery.methodBudgets,
      channelPostLimit: config.slackDelivery.channelPostBudget,
    }),
    retries: config.slackDelivery.callRetries,
    logger,
    metrics,
  });
  delivery.start();
  return {
    notifier: new SlackJobNotifier(delivery),
    conversationChat: new SlackConversationChat(delivery),
    async start(chat) {
      // Redis down: the user is told to try again, before anything that needs Redis (dedupe) runs.
      app.use(outageReply({ redisAvailable: deps.redisAvailable, logger }));
      registerListeners(app, { chat, dedupe: deps.dedupe, logger, metrics, delivery });
      // A rejected token stops start-up here; an unreachable Slack is said once and retried in the background.
      const answered = await connection.start(deps.onFatal);
      if (config.slack.mode === 'http') {
        await app.start({ port: config.port, host: config.listenHost });
        return;
      }
      // Socket mode: health and metrics answer from now on, whether Slack does or not.
      server = await startWebServer({ port: config.port, host: config.listenHost, routes, logger });
      const listening = connection.whenIdentified().then(() => app.start());
      if (answered) await listening;
      else void listening.catch((err: Error) => deps.onFatal(err));
    },
    async stopListening() {
      connection.close();
      await app.stop().catch((err: unknown) => logger.warn({ err }, 'stopping the Slack app failed'));
      await server?.close();
    },
    close: () => delivery.close(),
  };
}
