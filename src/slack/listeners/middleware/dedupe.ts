// Global middleware: every Slack delivery is handled once across replicas.
// Slack redelivers (retries, Socket Mode reconnects), sends one message as
// both `message` and `app_mention`, a double click presses a button twice,
// and replicas behind a load balancer may each get a repeat of one slash
// command. A delivery is claimed while it is handled and marked done only
// after (state/handled-once.ts): a repeat is skipped, a half-handled one
// (its replica died, or the handler threw) is handled again when redelivered.
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Logger } from '../../../observability/logger.js';
import type { Metrics } from '../../../observability/metrics.js';
import type { ClaimOutcome } from '../../../state/handled-once.js';
import { REMEMBER_SECONDS } from '../../../state/event-dedupe.js';
import { attachChatEvent } from '../event-context.js';

export interface Dedupe {
  claim(id: string): Promise<ClaimOutcome>;
}

/** A double click on one button counts once within this many seconds. */
export const BUTTON_DEDUPE_SECONDS = 10;

interface Body {
  type?: string;
  event_id?: string;
  team_id?: string;
  command?: string;
  channel_id?: string;
  user_id?: string;
  text?: string;
  event?: { type?: string; channel?: string; ts?: string };
  trigger_id?: string;
  user?: { id?: string };
  container?: { channel_id?: string; message_ts?: string };
  actions?: { action_id?: string; value?: string; action_ts?: string }[];
}

/** The id a delivery is claimed under, and for how long; undefined: not deduplicated. */
export function dedupeKey(body: Body): { id: string; ttlSeconds?: number } | undefined {
  if (body.type === 'event_callback') {
    const e = body.event;
    // One message arrives as `message` and as `app_mention` (different event ids): claim the message itself.
    if ((e?.type === 'message' || e?.type === 'app_mention') && e.channel && e.ts) return { id: `msg:${e.channel}:${e.ts}` };
    return body.event_id ? { id: `event:${body.event_id}` } : undefined;
  }
  if (body.type === 'block_actions') {
    const a = body.actions?.[0];
    if (!a?.action_id) return undefined;
    // A double click: the same person, the same button on the same message, moments apart.
    return {
      id: `action:${a.action_id}:${body.container?.channel_id ?? ''}:${body.container?.message_ts ?? ''}:${body.user?.id ?? ''}:${a.value ?? ''}`,
      ttlSeconds: BUTTON_DEDUPE_SECONDS,
    };
  }
  // Slash commands: Slack makes one trigger per invocation, so a repeat of one command carries the same trigger.
  if (body.command !== undefined) {
    if (body.trigger_id) return { id: `command:${body.team_id ?? ''}:${body.trigger_id}` };
    // No trigger (a proxy dropped it?): the same words from the same person in the same place, moments apart, are one command.
    return {
      id: `command:${body.team_id ?? ''}:${body.channel_id ?? ''}:${body.user_id ?? ''}:${body.command}:${body.text ?? ''}`,
      ttlSeconds: BUTTON_DEDUPE_SECONDS,
    };
  }
  if (body.trigger_id) return { id: `trigger:${body.trigger_id}` };
  return undefined;
}

export function dedupeMiddleware(dedupe: Dedupe, metrics: Metrics, logger: Logger): Middleware<AnyMiddlewareArgs> {
  return async function handleOnce(args) {
    const { body, next } = args;
    // The delivery's chat event, made once here: every line about it carries its ref.
    const log = attachChatEvent(args.context, body as Body, logger)?.log ?? logger;
    const key = dedupeKey(body as Body);
    if (!key) return next();
    let claimed: ClaimOutcome;
    try {
      claimed = await dedupe.claim(key.id);
    } catch (err) {
      // Redis is unreachable: handle it unclaimed. Safe: nothing can start without Redis (the channel lock is
      // there too), so a repeat can at worst answer "try again" twice; silence would be worse.
      log.warn({ err, key: key.id }, 'could not claim a Slack delivery (Redis unreachable?): handled unclaimed');
      return next();
    }
    if (claimed.kind !== 'claimed') {
      metrics.slackEvents.inc({ kind: 'duplicate' });
      log.info(
        { key: key.id, state: claimed.kind },
        claimed.kind === 'done' ? 'already handled: skipped' : 'being handled by another replica: skipped',
      );
      // Commands and buttons still want their acknowledgement, or Slack shows an error and retries.
      const ack = (args as { ack?: () => Promise<void> }).ack;
      if (ack) await ack().catch((err: unknown) => log.debug({ err }, 'a repeat was already acknowledged'));
      return;
    }
    try {
      await next();
    } catch (err) {
      // Not handled: a redelivery may try again (the error itself reaches Bolt's error handler).
      await claimed.claim
        .release()
        .catch((e: unknown) => log.warn({ err: e, key: key.id }, 'could not release the claim of a delivery that failed'));
      throw err;
    }
    await claimed.claim
      .done(key.ttlSeconds ?? REMEMBER_SECONDS)
      .catch((err: unknown) =>
        log.warn({ err, key: key.id }, 'could not mark a delivery handled: a redelivery after its lease may be handled again'),
      );
  };
}
