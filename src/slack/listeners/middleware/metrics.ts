// Global middleware: counts what Slack delivers, by kind
// (switchboard_slack_events_total{kind}).
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Metrics } from '../../../observability/metrics.js';

/** message, app_mention, slash_command, block_actions, view_submission, … */
export function deliveryKind(body: { type?: string; command?: string; event?: { type?: string } }): string {
  if (body.type === 'event_callback') return body.event?.type ?? 'event';
  if (body.command !== undefined) return 'slash_command';
  return body.type ?? 'unknown';
}

export function metricsMiddleware(metrics: Metrics): Middleware<AnyMiddlewareArgs> {
  return async function countDeliveries({ body, next }) {
    metrics.slackEvents.inc({ kind: deliveryKind(body as { type?: string }) });
    await next();
  };
}
