// Channel messages, thread replies, DMs and @mentions. Thin: filter, claim
// the message once across replicas, hand the text to ChatRequests, render.
import type { AllMiddlewareArgs, App, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ChatRequests } from '../../dispatch/chat-requests.js';
import type { EventDedupe } from '../../state/event-dedupe.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { renderReply } from '../render/replies.js';
import type { SlackDelivery } from '../delivery/slack-delivery.js';

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
}

export function registerMessageListeners(app: App, deps: MessageListenerDeps): void {
  /** The same message can arrive as `message` and `app_mention`, and be redelivered: handle it once. */
  async function handleMessage(msg: IncomingMessage, eventId: string | undefined, args: AllMiddlewareArgs, kind: string): Promise<void> {
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
    const reply = await deps.chat.answer({ text: msg.text, channel: msg.channel, user: msg.user, addressed, threadTs, botUserId }, eventId ?? msg.ts, (err) =>
      log.error({ err, ref: eventId ?? msg.ts }, 'could not answer a message'),
    );
    if (reply.kind === 'queued' || reply.kind === 'busy' || reply.kind === 'rejected') deps.metrics.jobsRequested.inc({ outcome: reply.kind });
    if (reply.kind !== 'silent') log.info({ reply: reply.kind }, 'answered a message');
    const rendered = renderReply(reply);
    if (rendered) await deps.delivery.call({ method: 'chat.postMessage', args: { channel: msg.channel, thread_ts: threadTs, ...rendered }, priority: 'urgent' });
  }

  app.message(async (args: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs) => {
    await handleMessage(args.message as IncomingMessage, (args.body as { event_id?: string }).event_id, args, 'message');
  });
  app.event('app_mention', async (args: SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs) => {
    await handleMessage(args.event as IncomingMessage, (args.body as { event_id?: string }).event_id, args, 'app_mention');
  });
}
