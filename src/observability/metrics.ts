// Prometheus metrics (GET /metrics). One registry per process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the Slack delivery reports when /metrics is scraped. */
export interface DeliverySnapshot {
  /** Calls waiting for their budget (or a retry), all lanes together. */
  queueDepth: number;
  /** Age of the oldest of them, seconds (0: none). */
  oldestPendingSeconds: number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly jobsRequested = new Counter({
    name: 'switchboard_jobs_requested_total',
    help: 'Job requests, by outcome (queued, busy, rejected)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly jobsFinished = new Counter({
    name: 'switchboard_jobs_finished_total',
    help: 'Jobs that ended, by final state',
    labelNames: ['state'],
    registers: [this.registry],
  });
  readonly agentEventsSkipped = new Counter({
    name: 'switchboard_agent_events_skipped_total',
    help: 'Malformed or unknown-version agent events that were skipped',
    registers: [this.registry],
  });
  readonly agentEventsOversized = new Counter({
    name: 'switchboard_agent_events_oversized_total',
    help: 'Agent events skipped unread because the stream entry was over the size limit',
    registers: [this.registry],
  });
  readonly slackEvents = new Counter({
    name: 'switchboard_slack_events_total',
    help: 'Slack events received, by kind; redeliveries counted as duplicate',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  // Slack delivery (src/slack/delivery).
  readonly slackCalls = new Counter({
    name: 'switchboard_slack_calls_total',
    help: 'Slack Web API calls, by method and outcome (ok, rate_limited = 429, platform_error, server_error, network_error)',
    labelNames: ['method', 'outcome'],
    registers: [this.registry],
  });
  readonly slackStatusStaleness = new Histogram({
    name: 'switchboard_slack_status_staleness_seconds',
    help: 'How long a change to a job waited before its status message showed it',
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly slackOutboxItems = new Gauge({
    name: 'switchboard_slack_outbox_items',
    help: 'Results kept for a later retry because Slack could not take them',
    registers: [this.registry],
  });
  private delivery?: () => DeliverySnapshot;
  readonly slackQueueDepth: Gauge = new Gauge({
    name: 'switchboard_slack_delivery_queue_depth',
    help: 'Slack calls waiting for their budget or a retry',
    registers: [this.registry],
    collect: (): void => this.slackQueueDepth.set(this.delivery?.().queueDepth ?? 0),
  });
  readonly slackOldestPending: Gauge = new Gauge({
    name: 'switchboard_slack_delivery_oldest_pending_seconds',
    help: 'Age of the oldest Slack call still waiting',
    registers: [this.registry],
    collect: (): void => this.slackOldestPending.set(this.delivery?.().oldestPendingSeconds ?? 0),
  });

  // Inference (src/inference): the GPU queue, per-endpoint throughput, errors and cooldowns.
  readonly inferenceRequests = new Counter({
    name: 'switchboard_inference_requests_total',
    help: 'Inference requests that ended, by endpoint and outcome (completed, failed, cancelled)',
    labelNames: ['endpoint', 'outcome'],
    registers: [this.registry],
  });
  readonly inferenceWait = new Histogram({
    name: 'switchboard_inference_queue_wait_seconds',
    help: 'How long a request waited for a GPU slot, by route',
    labelNames: ['route'],
    buckets: [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly inferenceQueueDepth = new Gauge({
    name: 'switchboard_inference_queue_depth',
    help: 'Requests waiting for a GPU slot, all replicas (sampled)',
    registers: [this.registry],
  });
  readonly inferenceTokens = new Counter({
    name: 'switchboard_inference_tokens_total',
    help: 'Tokens through the router, by endpoint and kind (prompt, completion); rate() is tokens per second',
    labelNames: ['endpoint', 'kind'],
    registers: [this.registry],
  });
  readonly inferenceTokensPerSecond = new Gauge({
    name: 'switchboard_inference_tokens_per_second',
    help: 'Completion tokens per second of slot time of the last request, by endpoint',
    labelNames: ['endpoint'],
    registers: [this.registry],
  });
  readonly inferenceGpuSeconds = new Counter({
    name: 'switchboard_inference_gpu_seconds_total',
    help: 'Time requests held a GPU slot, by endpoint',
    labelNames: ['endpoint'],
    registers: [this.registry],
  });
  readonly inferenceErrors = new Counter({
    name: 'switchboard_inference_errors_total',
    help: 'Endpoint failures, by endpoint and kind (unavailable, busy, model-missing, rejected, interrupted)',
    labelNames: ['endpoint', 'failure'],
    registers: [this.registry],
  });
  readonly inferenceCooldowns = new Counter({
    name: 'switchboard_inference_cooldowns_total',
    help: 'Times an endpoint was set to cool down after a failure',
    labelNames: ['endpoint'],
    registers: [this.registry],
  });

  // Jobs and the dispatch queue (issue 11). Gauges read shared state in Redis at scrape time: every
  // replica reports the same value, so alert on max(), not sum().
  private jobCounts?: () => Promise<Record<string, number>>;
  private queueDepthOf?: () => Promise<number>;
  readonly jobsByState: Gauge = new Gauge({
    name: 'switchboard_jobs',
    help: 'Jobs not yet finished, by state (queued, starting, running), all replicas; the same on every replica',
    labelNames: ['state'],
    registers: [this.registry],
    collect: async (): Promise<void> => {
      const counts = await this.jobCounts?.().catch(() => undefined);
      if (!counts) return;
      for (const state of ['queued', 'starting', 'running']) this.jobsByState.set({ state }, counts[state] ?? 0);
    },
  });
  readonly queueDepth: Gauge = new Gauge({
    name: 'switchboard_queue_depth',
    help: 'Jobs waiting in the dispatch queue for one of MAX_CONCURRENT_JOBS agent slots, all replicas',
    registers: [this.registry],
    collect: async (): Promise<void> => {
      const depth = await this.queueDepthOf?.().catch(() => undefined);
      if (depth !== undefined) this.queueDepth.set(depth);
    },
  });
  readonly queueWait = new Histogram({
    name: 'switchboard_queue_wait_seconds',
    help: 'How long a job waited in the dispatch queue before a replica took it to start its agent',
    buckets: [0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600],
    registers: [this.registry],
  });
  readonly spawnLatency = new Histogram({
    name: 'switchboard_agent_spawn_seconds',
    help: 'How long the spawner took to start an agent (container or Kubernetes Job created and started), by spawner and outcome (ok, error)',
    labelNames: ['spawner', 'outcome'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly relayLag = new Histogram({
    name: 'switchboard_relay_lag_seconds',
    help: "From an agent event's XADD (its stream id) to the chat call that showed it, by kind (status, result)",
    labelNames: ['kind'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly reconcilerActions = new Counter({
    name: 'switchboard_reconciler_actions_total',
    help: 'What the reconciler put right, by action (adopt, fail-gone, fail-lapsed, fail-overdue, finish-from-stream, remove-orphan, revoke-credentials, free-channel)',
    labelNames: ['action'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
  }

  /** The delivery's queue, read at scrape time. */
  watchDelivery(snapshot: () => DeliverySnapshot): void {
    this.delivery = snapshot;
  }

  /** Jobs by state and the queue's depth, read from Redis at scrape time. */
  watchJobs(counts: () => Promise<Record<string, number>>, queueDepth: () => Promise<number>): void {
    this.jobCounts = counts;
    this.queueDepthOf = queueDepth;
  }
}
