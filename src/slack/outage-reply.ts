// Global middleware, first in line: while Redis is down nothing can be
// handled (no dedupe, no lock, no queue), so whoever asked is told to try
// again in a minute instead of hearing nothing. The answer goes straight to
// Slack (not through the delivery, whose budgets live in Redis). Without the
// dedupe a redelivered event may get this answer twice: harmless, since no
// job was started. Messages the bot would have ignored stay unanswered.
import type { AnyMiddlewareArgs, AllMiddlewareArgs, Middleware } from '@slack/bolt';
import { parseIntent } from '../domain/intents.js';
import type { Logger } from '../observability/logger.js';
import { isRedisUnavailable } from '../errors.js';

export const UNAVAILABLE_TEXT =
  'Switchboard is temporarily unavailable (it cannot reach its database). Nothing was started; try again in a minute.';

interface EventBody {
  type?: string;
  event?: {
    type?: string;
    channel?: string;
    channel_type?: string;
    ts?: string;
    thread_ts?: string;
    text?: string;
    subtype?: string;
    bot_id?: string;
    user?: string;
  };
}

export interface OutageReplyDeps {
  /** Whether Redis answers now (RedisHealth). */
  redisAvailable: () => boolean;
  logger: Logger;
}

export function outageReply(deps: OutageReplyDeps): Middleware<AnyMiddlewareArgs> {
  return async function tellWhenRedisIsDown(args) {
    if (deps.redisAvailable()) {
      try {
        await args.next();
      } catch (err) {
        // Redis went away while this request was handled: the user hears it rather than nothing.
        if (!isRedisUnavailable(err)) throw err;
        deps.logger.warn({ err }, 'Redis became unreachable while a Slack request was handled: told to try again');
        await tellUnavailable(args as AnyMiddlewareArgs & AllMiddlewareArgs, deps.logger);
      }
      return;
    }
    await tellUnavailable(args as AnyMiddlewareArgs & AllMiddlewareArgs, deps.logger);
  };
}

async function tellUnavailable(args: AnyMiddlewareArgs & AllMiddlewareArgs, logger: Logger): Promise<void> {
  const ack = (args as { ack?: () => Promise<void> }).ack;
  // A second ack throws (the listener may have acknowledged before Redis failed it).
  if (ack) await ack().catch(() => undefined);
  const respond = (args as { respond?: (m: { response_type: 'ephemeral'; text: string }) => Promise<unknown> }).respond;
  const body = args.body as EventBody;
  try {
    if (body.type !== 'event_callback') {
      // Slash commands and buttons: an ephemeral answer through their response_url.
      if (respond) await respond({ response_type: 'ephemeral', text: UNAVAILABLE_TEXT });
      return;
    }
    const e = body.event;
    if (!e?.channel || !e.ts || e.subtype !== undefined || e.bot_id !== undefined || !e.user) return;
    const botUserId = args.context.botUserId;
    const mentioned = botUserId !== undefined && (e.text ?? '').includes(`<@${botUserId}>`);
    // One message comes as both `message` and `app_mention`: the mention answers it.
    if (e.type === 'message' && mentioned && e.channel_type !== 'im') return;
    const addressed = e.type === 'app_mention' || e.channel_type === 'im';
    if (parseIntent(e.text ?? '', { addressed, botUserId }).kind === 'ignore') return;
    await args.client.chat.postMessage({ channel: e.channel, thread_ts: e.thread_ts ?? e.ts, text: UNAVAILABLE_TEXT });
    logger.info({ channel: e.channel, user: e.user }, 'Redis is unreachable: told the user to try again in a minute');
  } catch (err) {
    logger.warn({ err }, 'could not tell a user that Switchboard is temporarily unavailable');
  }
}
