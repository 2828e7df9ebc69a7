// Prometheus metrics (GET /metrics). One registry per process.
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly jobsRequested = new Counter({ name: 'switchboard_jobs_requested_total', help: 'Job requests, by outcome (queued, busy, rejected)', labelNames: ['outcome'], registers: [this.registry] });
  readonly jobsFinished = new Counter({ name: 'switchboard_jobs_finished_total', help: 'Jobs that ended, by final state', labelNames: ['state'], registers: [this.registry] });
  readonly agentEventsSkipped = new Counter({ name: 'switchboard_agent_events_skipped_total', help: 'Malformed or unknown-version agent events that were skipped', registers: [this.registry] });
  readonly slackEvents = new Counter({ name: 'switchboard_slack_events_total', help: 'Slack events received, by kind; redeliveries counted as duplicate', labelNames: ['kind'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
  }
}
