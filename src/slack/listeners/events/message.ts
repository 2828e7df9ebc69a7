// Channel messages, thread replies, DMs and @mentions → the chat core. Thin:
// filter what is no person's message, say who said what where, post the
// answer in the thread. Redeliveries never reach here (global dedupe).
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ChatActions, Surface } from '../../../chat/chat-actions.js';
import { isExternalSender } from '../../../domain/permissions.js';
import type { Logger } from '../../../observability/logger.js';
import type { Metrics } from '../../../observability/metrics.js';
import { renderMessage } from '../../render/block-kit.js';
import type { Message } from '../../../domain/message.js';
import type { SlackDelivery } from '../../delivery/slack-delivery.js';
import { chatEventOf } from '../event-context.js';

export interface MessageEventDeps {
  chat: ChatActions;
  logger: Logger;
  metrics: Metrics;
  /** Replies go through the Slack delivery (budgets, priority over progress). */
  delivery: Pick<SlackDelivery, 'call'>;
}

export interface IncomingMessage {
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

type EventArgs = { event: IncomingMessage; body: { event_id?: string; team_id?: string }; context: AllMiddlewareArgs['context'] };

function surfaceOf(msg: IncomingMessage, mention: boolean): Surface {
  if (msg.channel_type === 'im') return 'dm';
  if (mention) return 'mention';
  return msg.thread_ts && msg.thread_ts !== msg.ts ? 'thread' : 'message';
}

/** One person's message (from either event); the answer goes into its thread. */
export async function answerMessage({ event: msg, body, context }: EventArgs, mention: boolean, deps: MessageEventDeps): Promise<void> {
  if (msg.subtype !== undefined || msg.bot_id !== undefined || !msg.user || !msg.text) return;
  const event = chatEventOf(context, { ...body, event: msg }, deps.logger);
  const { ref, log } = event;
  const botUserId = context.botUserId;
  const addressed = msg.channel_type === 'im' || mention || (botUserId !== undefined && msg.text.includes(`<@${botUserId}>`));
  const threadTs = msg.thread_ts ?? msg.ts;
  const answer = await deps.chat.said(
    {
      text: msg.text,
      channel: msg.channel,
      user: msg.user,
      addressed,
      threadTs,
      messageTs: msg.ts,
      botUserId,
      surface: surfaceOf(msg, mention),
      // Its answer is a message in the thread that can be edited: a "busy" joins the channel's burst of refusals.
      burstable: true,
      team: msg.user_team ?? msg.team ?? body.team_id,
      sender: {
        // Group DMs count as DMs: they are nobody's channel, so only allowDMs opens them.
        dm: msg.channel_type === 'im' || msg.channel_type === 'mpim',
        external: isExternalSender(msg.user_team ?? msg.team, context.teamId ?? body.team_id),
      },
    },
    event,
  );
  const { reply } = answer;
  if (reply.kind === 'queued' || reply.kind === 'busy' || reply.kind === 'rejected')
    deps.metrics.jobsRequested.inc({ outcome: reply.kind });
  if (reply.kind !== 'silent') log.info({ channel: msg.channel, user: msg.user, reply: reply.kind }, 'answered a message');
  if (answer.reaction) {
    // The agent has it: said without a message of our own. Best effort; `already_reacted` after a redelivery is fine.
    await deps.delivery
      .call({ method: 'reactions.add', args: { channel: msg.channel, timestamp: msg.ts, name: answer.reaction }, priority: 'urgent' })
      .catch((err: { data?: { error?: string } }) => {
        if (err.data?.error !== 'already_reacted') deps.logger.warn({ err, ref }, 'could not acknowledge a message with a reaction');
      });
  }
  if (answer.message) {
    const posted = await deps.delivery.call({
      method: 'chat.postMessage',
      args: { channel: msg.channel, thread_ts: threadTs, ...renderMessage(answer.message) },
      priority: 'urgent',
    });
    const ts = posted.outcome === 'delivered' ? (posted.result as { ts?: string }).ts : undefined;
    // The first refusal of a burst: edited to say how many more asked, once the burst is over (not awaited: Slack has its ack).
    if (answer.later && ts) void editLater(answer.later, msg.channel, ts, ref, deps);
  }
}

async function editLater(
  later: Promise<Message | undefined>,
  channel: string,
  ts: string,
  ref: string,
  deps: MessageEventDeps,
): Promise<void> {
  try {
    const message = await later;
    if (message) await deps.delivery.call({ method: 'chat.update', args: { channel, ts, ...renderMessage(message) }, priority: 'post' });
  } catch (err) {
    deps.logger.warn({ err, ref }, 'could not edit an answer');
  }
}

export function messageReceived(deps: MessageEventDeps) {
  return async function handleMessageEvent(args: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs): Promise<void> {
    await answerMessage(
      { event: args.message as IncomingMessage, body: args.body as EventArgs['body'], context: args.context },
      false,
      deps,
    );
  };
}

export function appMentioned(deps: MessageEventDeps) {
  return async function handleAppMention(args: SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs): Promise<void> {
    await answerMessage({ event: args.event as IncomingMessage, body: args.body as EventArgs['body'], context: args.context }, true, deps);
  };
}
