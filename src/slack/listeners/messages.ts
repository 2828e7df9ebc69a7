// Channel messages, thread replies, DMs and @mentions. Thin: filter, claim
// the message once across replicas, hand the text to ChatRequests, render.
import type { AllMiddlewareArgs, App, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ChatRequests } from '../../dispatch/chat-requests.js';
import type { EventDedupe } from '../../state/event-dedupe.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { renderReply } from '../render/replies.js';
import type { SlackDelivery } from '../delivery/slack-delivery.js';
import { isExternalSender } from '../../domain/permissions.js';

export interface MessageListenerDeps {
  chat: ChatRequests;
  dedupe: EventDedupe;
  logger: Logger;
  metrics: Metrics;
  /** Replies go through the Slack delivery (budgets, priority over progress). */
  delivery: SlackDelivery;
}

interface IncomingMessage {
  channel: string;
  user?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
  channel_type?: string;
  subtype?: string;
  bot_id?: string;
  /** The sender's team; differs from the workspace's for Slack Connect users. */
  user_team?: string;
  team?: string;
}

export function registerMessageListeners(app: App, deps: MessageListenerDeps): void {
  /** The same message can arrive as `message` and `app_mention`, and be redelivered: handle it once. */
  async function handleMessage(msg: IncomingMessage, body: { event_id?: string; team_id?: string }, args: AllMiddlewareArgs, kind: string): Promise<void> {
    const eventId = body.event_id;
    if (msg.subtype !== undefined || msg.bot_id !== undefined || !msg.user || !msg.text) return;
    const log = deps.logger.child({ eventId, channel: msg.channel, user: msg.user, ts: msg.ts });
    if (!(await deps.dedupe.firstSighting(`msg:${msg.channel}:${msg.ts}`))) {
      deps.metrics.slackEvents.inc({ kind: 'duplicate' });
      log.debug({ kind }, 'message already handled');
      return;
    }
    deps.metrics.slackEvents.inc({ kind });
    const botUserId = args.context.botUserId;
    const addressed = msg.channel_type === 'im' || kind === 'app_mention' || (botUserId !== undefined && msg.text.includes(`<@${botUserId}>`));
    const threadTs = msg.thread_ts ?? msg.ts;
    const sender = {
      // Group DMs count as DMs: they are nobody's channel, so only allowDMs opens them.
      dm: msg.channel_type === 'im' || msg.channel_type === 'mpim',
      external: isExternalSender(msg.user_team ?? msg.team, args.context.teamId ?? body.team_id),
    };
    const reply = await deps.chat.answer({ text: msg.text, channel: msg.channel, user: msg.user, addressed, threadTs, botUserId, sender }, eventId ?? msg.ts, (err) =>
      log.error({ err, ref: eventId ?? msg.ts }, 'could not answer a message'),
    );
    if (reply.kind === 'queued' || reply.kind === 'busy' || reply.kind === 'rejected') deps.metrics.jobsRequested.inc({ outcome: reply.kind });
    if (reply.kind !== 'silent') log.info({ reply: reply.kind }, 'answered a message');
    const rendered = renderReply(reply);
    if (rendered) await deps.delivery.call({ method: 'chat.postMessage', args: { channel: msg.channel, thread_ts: threadTs, ...rendered }, priority: 'urgent' });
  }

  app.message(async (args: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs) => {
    await handleMessage(args.message as IncomingMessage, args.body as { event_id?: string; team_id?: string }, args, 'message');
  });
  app.event('app_mention', async (args: SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs) => {
    await handleMessage(args.event as IncomingMessage, args.body as { event_id?: string; team_id?: string }, args, 'app_mention');
  });
}
