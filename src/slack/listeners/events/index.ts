// Events API surface: binds event types to their handlers.
import type { App } from '@slack/bolt';
import { appMentioned, messageReceived, type MessageEventDeps } from './message.js';

export function registerEventListeners(app: App, deps: MessageEventDeps): void {
  app.message(messageReceived(deps));
  app.event('app_mention', appMentioned(deps));
}
