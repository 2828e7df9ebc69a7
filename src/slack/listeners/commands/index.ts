// Slash command surface: binds commands to their handlers.
import type { App } from '@slack/bolt';
import { SLASH_COMMAND, switchboardCommand, type CommandDeps } from './switchboard.js';

export function registerCommandListeners(app: App, deps: CommandDeps): void {
  app.command(SLASH_COMMAND, switchboardCommand(deps));
}
