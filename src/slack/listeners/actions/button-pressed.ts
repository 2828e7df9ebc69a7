// Button presses (block_actions) → the chat core. Acknowledged first, so
// Slack hears back within its 3 seconds whatever the work takes (the same in
// Socket Mode and HTTP mode); the answer goes to the presser alone, through
// the press's response_url. A double click never gets here twice (global dedupe).
import type { AllMiddlewareArgs, BlockAction, ButtonAction, RespondFn, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ChatActions } from '../../../chat/chat-actions.js';
import { isExternalSender } from '../../../domain/permissions.js';
import { chatEventOf } from '../event-context.js';
import type { Logger } from '../../../observability/logger.js';
import { renderMessage } from '../../render/block-kit.js';

export interface ActionDeps {
  chat: ChatActions;
  logger: Logger;
}

type PressArgs = Pick<SlackActionMiddlewareArgs<BlockAction<ButtonAction>>, 'ack' | 'body' | 'action'> & {
  respond: RespondFn;
  context: AllMiddlewareArgs['context'];
};

/** The shared adapter: who pressed what on which message, to the core and back. */
export async function answerPress({ ack, body, action, respond, context }: PressArgs, deps: ActionDeps): Promise<void> {
  await ack();
  const container = body.container as { channel_id?: string; message_ts?: string; thread_ts?: string } | undefined;
  const channel = body.channel?.id ?? container?.channel_id;
  const event = chatEventOf(context, { trigger_id: body.trigger_id, actions: [action] }, deps.logger);
  // A button carries `value`; a select menu (a choice question, say) its `selected_option`.
  const value = action.value ?? (action as { selected_option?: { value?: string } }).selected_option?.value;
  const answer = await deps.chat.pressed(
    {
      actionId: action.action_id,
      ...(value !== undefined ? { value } : {}),
      user: body.user.id,
      ...(body.user.team_id ? { team: body.user.team_id } : {}),
      ...(channel ? { channel } : {}),
      ...(container?.message_ts ? { messageTs: container.message_ts } : {}),
      ...(container?.thread_ts ? { threadTs: container.thread_ts } : {}),
      sender: { external: isExternalSender(body.user.team_id, context.teamId ?? body.team?.id) },
    },
    event,
  );
  event.log.info({ action: action.action_id, user: body.user.id, channel, reply: answer.reply.kind }, 'answered a button press');
  if (answer.message) await respond({ response_type: 'ephemeral', replace_original: false, ...renderMessage(answer.message) });
}

/** Every button and select menu: the core's action-id registry (chat/chat-actions.ts) knows which handler
 *  answers it (Cancel, Retry, a question's answer, a free-text reading…) and says when one no longer works. */
export function buttonPressed(deps: ActionDeps) {
  return async function handleButtonPress(args: PressArgs): Promise<void> {
    await answerPress(args, deps);
  };
}
