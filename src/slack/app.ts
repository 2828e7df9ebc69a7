// Builds the Bolt app for SLACK_MODE=socket or http. Health and metrics ride on
// the same port in both modes (Bolt's custom routes).
import { App } from '@slack/bolt';
import type { Config } from '../config/env.js';
import type { Logger } from '../observability/logger.js';
import type { HttpRoute } from '../observability/http-routes.js';
import { boltLogger } from './bolt-logger.js';

export interface SlackAppOptions {
  slack: Config['slack'];
  port: number;
  /** Address to bind (LISTEN_HOST): 127.0.0.1 keeps agents on a host-run dispatcher's bridge away from PORT. */
  host: string;
  routes: HttpRoute[];
  logger: Logger;
}

export function createSlackApp({ slack, port, host, routes, logger }: SlackAppOptions): App {
  const clientOptions = { slackApiUrl: slack.apiUrl };
  const common = { token: slack.botToken, clientOptions, customRoutes: routes, logger: boltLogger(logger) };
  if (slack.mode === 'socket') {
    return new App({
      ...common,
      socketMode: true,
      appToken: slack.appToken,
      // Socket Mode fetches its WebSocket URL with a client of its own: point it at the same API.
      // Bolt hands `port` to http.Server.listen() as is, which also takes { port, host }: that binds LISTEN_HOST.
      installerOptions: { port: { port, host } as unknown as number, clientOptions },
    });
  }
  return new App({ ...common, signingSecret: slack.signingSecret ?? '', port }); // dispatcher.ts passes { port, host } to start()
}

/** Logs every error that reaches Bolt; users only ever see "internal error, ref X". */
export function registerErrorHandler(app: App, logger: Logger): void {
  app.error(async (error) => {
    const original = (error as { original?: Error }).original;
    logger.error({ err: original ?? error, code: (error as { code?: string }).code }, 'unhandled error in a Slack listener');
  });
}
