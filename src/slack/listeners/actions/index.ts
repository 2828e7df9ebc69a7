// Interactivity surface: binds button action ids (domain/actions.ts) to their
// handlers. A renderer may have suffixed an id with `:2` (two of one action
// in a message), so ids are matched with that allowed. Every other button
// (one the core learnt later, or a stale one) goes
// to the core too, so no press is ever left unacknowledged.
import type { App, BlockAction, ButtonAction, Middleware, SlackActionMiddlewareArgs } from '@slack/bolt';
import { ACTIONS, actionIdPattern, baseActionId } from '../../../domain/actions.js';
import { buttonPressed, type ActionDeps } from './button-pressed.js';

type ButtonListener = Middleware<SlackActionMiddlewareArgs<BlockAction<ButtonAction>>>;

export function registerActionListeners(app: App, deps: ActionDeps): void {
  // One adapter serves every id: the core picks the named handler (chat/chat-actions.ts).
  const press = buttonPressed(deps) as ButtonListener;
  const bound = new Map<string, ButtonListener>([ACTIONS.cancelJob, ACTIONS.retryJob, ACTIONS.answerQuestion].map((id) => [id, press]));
  for (const [actionId, listener] of bound)
    app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: actionIdPattern(actionId) }, listener);
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions' }, async (args) => {
    if (bound.has(baseActionId(args.action.action_id))) return; // its own listener has it
    await press(args);
  });
}
