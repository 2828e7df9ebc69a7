// The /switchboard slash command: same language as messages. Answers are
// ephemeral; a started job's status message opens a thread in the channel.
import type { AllMiddlewareArgs, RespondFn, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { ChatActions } from '../../../chat/chat-actions.js';
import { isExternalSender } from '../../../domain/permissions.js';
import { chatEventOf } from '../event-context.js';
import type { Logger } from '../../../observability/logger.js';
import type { Metrics } from '../../../observability/metrics.js';
import { renderMessage } from '../../render/block-kit.js';

export { SLASH_COMMAND } from '../../../chat/help.js';

export interface CommandDeps {
  chat: ChatActions;
  logger: Logger;
  metrics: Metrics;
}

type CommandArgs = Pick<SlackCommandMiddlewareArgs, 'command' | 'ack'> & { respond: RespondFn; context: AllMiddlewareArgs['context'] };

export function switchboardCommand(deps: CommandDeps) {
  return async function handleSwitchboardCommand({ command, ack, respond, context }: CommandArgs): Promise<void> {
    await ack();
    const event = chatEventOf(context, command, deps.logger);
    const answer = await deps.chat.said(
      {
        text: command.text || 'help',
        channel: command.channel_id,
        user: command.user_id,
        addressed: true,
        botUserId: context.botUserId,
        surface: 'slash',
        team: (command as { user_team?: string }).user_team ?? command.team_id,
        sender: {
          // Slack names DMs `directmessage` and group DMs `mpdm-…` in slash command payloads.
          dm: command.channel_id.startsWith('D') || /^(directmessage$|mpdm-)/.test(String(command.channel_name)),
          // The sender's own team is named only in shared channels (user_team).
          external: isExternalSender((command as { user_team?: string }).user_team, context.teamId ?? command.team_id),
        },
      },
      event,
    );
    const { reply } = answer;
    if (reply.kind === 'queued' || reply.kind === 'busy' || reply.kind === 'rejected')
      deps.metrics.jobsRequested.inc({ outcome: reply.kind });
    event.log.info({ channel: command.channel_id, user: command.user_id, reply: reply.kind }, 'answered /switchboard');
    if (answer.message) await respond({ response_type: 'ephemeral', ...renderMessage(answer.message) });
  };
}
