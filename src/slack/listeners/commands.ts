// The /switchboard slash command: same language as messages. Answers are
// ephemeral; a started job's status message opens a thread in the channel.
import type { AllMiddlewareArgs, App, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { ChatRequests } from '../../dispatch/chat-requests.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { renderReply } from '../render/replies.js';
import { isExternalSender } from '../../domain/permissions.js';

export const SLASH_COMMAND = '/switchboard';

export function registerCommandListeners(app: App, deps: { chat: ChatRequests; logger: Logger; metrics: Metrics }): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond, context }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    await ack();
    deps.metrics.slackEvents.inc({ kind: 'slash_command' });
    const log = deps.logger.child({ channel: command.channel_id, user: command.user_id, triggerId: command.trigger_id });
    const ref = command.trigger_id;
    const reply = await deps.chat.answer(
      {
        text: command.text || 'help',
        channel: command.channel_id,
        user: command.user_id,
        addressed: true,
        botUserId: context.botUserId,
        sender: {
          // Slack names DMs `directmessage` and group DMs `mpdm-…` in slash command payloads.
          dm: command.channel_id.startsWith('D') || /^(directmessage$|mpdm-)/.test(String(command.channel_name)),
          // The sender's own team is named only in shared channels (user_team).
          external: isExternalSender((command as { user_team?: string }).user_team, context.teamId ?? command.team_id),
        },
      },
      ref,
      (err) => log.error({ err, ref }, 'could not answer /switchboard'),
    );
    if (reply.kind === 'queued' || reply.kind === 'busy' || reply.kind === 'rejected') deps.metrics.jobsRequested.inc({ outcome: reply.kind });
    log.info({ reply: reply.kind }, 'answered /switchboard');
    const rendered = renderReply(reply);
    if (rendered) await respond({ response_type: 'ephemeral', ...rendered });
  });
}
