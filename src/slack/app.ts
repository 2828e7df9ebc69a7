// Builds the Bolt app for SLACK_MODE=socket or http. In http mode health and
// metrics ride on Bolt's receiver (custom routes, the same port as
// /slack/events); in socket mode the dispatcher serves them itself, so that
// they answer while Slack is still unreachable.
import { App, SocketModeReceiver } from '@slack/bolt';
import type { Config } from '../config/env.js';
import type { Logger } from '../observability/logger.js';
import type { HttpRoute } from '../observability/http-routes.js';
import { boltLogger } from './bolt-logger.js';
import type { SlackIdentity } from './slack-connection.js';

export interface SlackAppOptions {
  slack: Config['slack'];
  port: number;
  /** Address to bind (LISTEN_HOST): 127.0.0.1 keeps agents on a host-run dispatcher's bridge away from PORT. */
  host: string;
  /** Served by Bolt's receiver in http mode only (socket mode: see the header). */
  routes: HttpRoute[];
  logger: Logger;
  /**
   * The bot's identity, once auth.test has answered (slack-connection.ts).
   * Bolt's own start-up auth.test would cache a failure for good when Slack is
   * unreachable at start: every event after would fail to authorize.
   */
  identity: () => Promise<SlackIdentity>;
  /** Socket Mode connection state changes, for /readyz. */
  onSocketState?: (state: 'connecting' | 'connected' | 'disconnected') => void;
}

export function createSlackApp({ slack, port, routes, logger, identity, onSocketState }: SlackAppOptions): App {
  const clientOptions = { slackApiUrl: slack.apiUrl };
  const botToken = slack.botToken ?? '';
  const authorize = async () => {
    const id = await identity();
    return { botToken, botId: id.botId, botUserId: id.botUserId, ...(id.teamId ? { teamId: id.teamId } : {}) };
  };
  const common = { authorize, clientOptions, logger: boltLogger(logger) };
  if (slack.mode === 'socket') {
    // Socket Mode fetches its WebSocket URL with a client of its own: point it at the same API.
    const receiver = new SocketModeReceiver({
      appToken: slack.appToken ?? '',
      logger: boltLogger(logger),
      installerOptions: { clientOptions },
    });
    if (onSocketState) {
      receiver.client.on('connected', () => onSocketState('connected'));
      receiver.client.on('disconnected', () => onSocketState('disconnected'));
      receiver.client.on('reconnecting', () => onSocketState('connecting'));
    }
    return new App({ ...common, receiver });
  }
  return new App({ ...common, signingSecret: slack.signingSecret ?? '', customRoutes: routes, port }); // dispatcher.ts passes { port, host } to start()
}

/** Logs every error that reaches Bolt; users only ever see "internal error, ref X". */
export function registerErrorHandler(app: App, logger: Logger): void {
  app.error(async (error) => {
    const original = (error as { original?: Error }).original;
    logger.error({ err: original ?? error, code: (error as { code?: string }).code }, 'unhandled error in a Slack listener');
  });
}
