// Interactivity surface: binds button action ids (domain/actions.ts) to their
// handlers. A renderer may have suffixed an id with `:2` (two of one action
// in a message), so ids are matched with that allowed. Every other button
// (one the core learnt later, or a stale one) goes
// to the core too, so no press is ever left unacknowledged.
import type { App, BlockAction, ButtonAction, Middleware, SlackActionMiddlewareArgs } from '@slack/bolt';
import { ACTIONS, actionIdPattern, baseActionId } from '../../../domain/actions.js';
import { cancelJobPressed, otherButtonPressed, questionAnswerPressed, retryJobPressed, type ActionDeps } from './button-pressed.js';

type ButtonListener = Middleware<SlackActionMiddlewareArgs<BlockAction<ButtonAction>>>;

export function registerActionListeners(app: App, deps: ActionDeps): void {
  const bound = new Map<string, ButtonListener>([
    [ACTIONS.cancelJob, cancelJobPressed(deps) as ButtonListener],
    [ACTIONS.retryJob, retryJobPressed(deps) as ButtonListener],
    [ACTIONS.answerQuestion, questionAnswerPressed(deps) as ButtonListener],
  ]);
  for (const [actionId, listener] of bound) app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: actionIdPattern(actionId) }, listener);
  const other = otherButtonPressed(deps) as ButtonListener;
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions' }, async (args) => {
    if (bound.has(baseActionId(args.action.action_id))) return; // its own listener has it
    await other(args);
  });
}
