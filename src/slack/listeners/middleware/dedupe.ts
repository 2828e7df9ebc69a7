// Global middleware: every Slack delivery is handled once across replicas.
// Slack redelivers (retries, Socket Mode reconnects), sends one message as
// both `message` and `app_mention`, and a double click presses a button twice.
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Logger } from '../../../observability/logger.js';
import type { Metrics } from '../../../observability/metrics.js';

export interface Dedupe {
  /** True the first time an id is seen within `ttlSeconds`. */
  firstSighting(id: string, ttlSeconds?: number): Promise<boolean>;
}

/** A double click on one button counts once within this many seconds. */
export const BUTTON_DEDUPE_SECONDS = 10;

interface Body {
  type?: string;
  event_id?: string;
  event?: { type?: string; channel?: string; ts?: string };
  trigger_id?: string;
  user?: { id?: string };
  container?: { channel_id?: string; message_ts?: string };
  actions?: { action_id?: string; value?: string }[];
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
  // Slash commands: a redelivery carries the same trigger.
  if (body.trigger_id) return { id: `trigger:${body.trigger_id}` };
  return undefined;
}

export function dedupeMiddleware(dedupe: Dedupe, metrics: Metrics, logger: Logger): Middleware<AnyMiddlewareArgs> {
  return async function dropRedeliveries(args) {
    const { body, next } = args;
    const key = dedupeKey(body as Body);
    if (key && !(await dedupe.firstSighting(key.id, key.ttlSeconds))) {
      metrics.slackEvents.inc({ kind: 'duplicate' });
      logger.debug({ key: key.id }, 'already handled: skipped');
      // Commands and buttons still want their acknowledgement, or Slack shows an error and retries.
      const ack = (args as { ack?: () => Promise<void> }).ack;
      if (ack) await ack();
      return;
    }
    await next();
  };
}
