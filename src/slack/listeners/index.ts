// Every Slack surface the app listens on, and the global middleware in front
// of them (dedupe across replicas, then metrics). Listeners only adapt Slack
// payloads to the chat core (chat/chat-actions.ts) and render its answers.
import type { App } from '@slack/bolt';
import type { ChatActions } from '../../chat/chat-actions.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { SlackDelivery } from '../delivery/slack-delivery.js';
import { dedupeMiddleware, type Dedupe } from './middleware/dedupe.js';
import { metricsMiddleware } from './middleware/metrics.js';
import { registerEventListeners } from './events/index.js';
import { registerCommandListeners } from './commands/index.js';
import { registerActionListeners } from './actions/index.js';

export interface ListenerDeps {
  chat: ChatActions;
  dedupe: Dedupe;
  delivery: Pick<SlackDelivery, 'call'>;
  logger: Logger;
  metrics: Metrics;
}

export function registerListeners(app: App, deps: ListenerDeps): void {
  app.use(dedupeMiddleware(deps.dedupe, deps.metrics, deps.logger));
  app.use(metricsMiddleware(deps.metrics));
  registerEventListeners(app, deps);
  registerCommandListeners(app, deps);
  registerActionListeners(app, deps);
}
