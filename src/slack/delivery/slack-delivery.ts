// Every Slack Web API call made on behalf of a job goes through here: status
// posts and updates, results, replies, permalinks (and questions and reactions
// when they come: any method, with a priority).
//
// - Budgets: each call spends a shared token bucket in Redis (per method and
//   workspace; chat.postMessage per channel), so all replicas together stay
//   within Slack's tiers (budgets.ts, shared-budget.ts).
// - Lanes: one per bucket, each in priority order: results, failures,
//   questions and replies before a new job's status post, before progress. A
//   lane never waits for a call, so a slow or rate-limited method stalls nothing else.
// - Progress coalesces: at most one pending update per status message, always
//   the newest; the job refreshed longest ago goes first; and the pacer
//   stretches each job's refresh interval to its fair share of the budget.
// - Failures: a 429 blocks that bucket for Retry-After on every replica and the
//   call is retried after it; 5xx, timeouts and network errors are retried a
//   bounded number of times; a durable call (a result) that still fails is
//   kept in the Redis outbox and retried later, and logged with its job id.
// Over 350 lines: the lanes, the coalescing and the outbox hand-over share one queue's state.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { WebAPICallResult, WebClient } from '@slack/web-api';
import type { Keys } from '../../domain/keys.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { bucketsFor, sustainedPerWindow, type BucketSpec, type BudgetSettings } from './budgets.js';
import { SharedBudget } from './shared-budget.js';
import { DeliveryLane, PRIORITY, type LaneItem, type Priority } from './delivery-lane.js';
import { classifyFailure } from './slack-calls.js';
import { ActiveStatuses } from './active-statuses.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { ErrorCode, SwitchboardError } from '../../errors.js';

export type CallArgs = Record<string, unknown>;

export interface CallRequest {
  method: string;
  /** The arguments, or a function that builds them when the call goes out (a status renders its newest state). */
  args: CallArgs | (() => CallArgs);
  priority: keyof typeof PRIORITY;
  /** The channel, when `args` is a function (chat.postMessage budgets are per channel). */
  channel?: string;
  /** The job the call is made for (logs, outbox). */
  jobId?: string;
  /** A newer request with the same key replaces a pending one; both callers get the newer one's outcome. */
  coalesceKey?: string;
  /** Kept in the outbox and retried later when it cannot be delivered now. */
  durable?: boolean;
  /** Set on status posts and updates: this call shows the status of `statusOf` (fair share, staleness). */
  statusOf?: string;
  /** When the oldest change this call shows was made (status staleness). */
  changedAt?: number;
}

export type Delivery =
  | { outcome: 'delivered'; result: WebAPICallResult }
  /** Could not be delivered now; it is in the outbox and will be retried. */
  | { outcome: 'kept' }
  /** Dropped on shutdown (progress only: the next replica re-renders the status). */
  | { outcome: 'dropped' };

/** Paces one job's status refreshes to its fair share of the budget. */
export interface StatusPacer {
  intervalMs(): number;
  close(): void;
}

export interface SlackDeliveryOptions {
  client: WebClient;
  /** The token the client uses: its hash names the workspace budget (Slack's limits are per app and workspace). */
  token: string;
  redis: Redis;
  keys: Keys;
  budgets: BudgetSettings;
  /** Retries of a 5xx / timeout / network error before giving up (durable calls go to the outbox then). */
  retries: number;
  logger: Logger;
  metrics?: Metrics;
  /** First retry back-off; doubles each time. */
  backoffMs?: number;
  /** How often the outbox is swept, and the first retry of a kept call. */
  outboxRetryMs?: number;
}

interface Pending extends LaneItem {
  req: CallRequest;
  lane: string;
  buckets: readonly BucketSpec[];
  enqueuedAt: number;
  attempts: number;
  rateLimited: number;
  waiters: { resolve: (d: Delivery) => void; reject: (err: unknown) => void }[];
  /** Set when the call came from the outbox. */
  outboxEntry?: OutboxEntry;
}

/** 429s in a row for one call before it counts as undeliverable for now. */
const MAX_RATE_LIMITED = 8;
const STATUS_METHOD = 'chat.update';

export const workspaceOf = (token: string): string => createHash('sha256').update(token).digest('hex').slice(0, 12);

export class SlackDelivery {
  private readonly lanes = new Map<string, DeliveryLane<Pending>>();
  private readonly coalescing = new Map<string, Pending>();
  private readonly inFlight = new Set<string>();
  private readonly calls = new Set<Promise<void>>();
  private readonly lastRefresh = new Map<string, number>();
  private readonly budget: SharedBudget;
  private readonly active: ActiveStatuses;
  private readonly outbox: Outbox;
  private readonly workspace: string;
  private readonly log: Logger;
  private sweeper?: NodeJS.Timeout;
  private closed = false;
  private seq = 0;

  constructor(private readonly o: SlackDeliveryOptions) {
    this.workspace = workspaceOf(o.token);
    this.log = o.logger.child({ component: 'slack-delivery' });
    this.budget = new SharedBudget(o.redis, o.keys.slackBudget);
    const warn = (err: unknown) => this.log.warn({ err }, 'Redis call of the Slack delivery failed');
    this.active = new ActiveStatuses(o.redis, o.keys.slackActiveStatus(this.workspace), 2000, warn);
    this.outbox = new Outbox(o.redis, o.keys.slackOutbox, o.keys.slackOutboxItem);
    o.metrics?.watchDelivery(() => this.snapshot());
  }

  /** Starts the fair-share announcements and the outbox sweeper. */
  start(): void {
    this.active.start();
    this.sweeper ??= setInterval(() => void this.sweepOutbox(), this.outboxRetryMs);
    this.sweeper.unref();
  }

  /** Makes one Web API call through its budget; resolves when Slack took it (or it was kept), rejects on an error Slack gave. */
  call(req: CallRequest): Promise<Delivery> {
    if (this.closed)
      return Promise.reject(new SwitchboardError(ErrorCode.SlackCallFailed, `Slack ${req.method} not sent: the Slack delivery is closed`));
    return new Promise<Delivery>((resolve, reject) => {
      const waiter = { resolve, reject };
      const existing = req.coalesceKey !== undefined ? this.coalescing.get(req.coalesceKey) : undefined;
      if (existing) {
        // Newest state wins; the call keeps its place and the most urgent priority of the two.
        existing.req = { ...req, changedAt: Math.min(existing.req.changedAt ?? Infinity, req.changedAt ?? Infinity) };
        if (!Number.isFinite(existing.req.changedAt)) delete existing.req.changedAt;
        existing.priority = Math.min(existing.priority, PRIORITY[req.priority]) as Priority;
        existing.waiters.push(waiter);
        this.lanes.get(existing.lane)?.poke();
        return;
      }
      const item = this.itemFor(req);
      item.waiters.push(waiter);
      this.enqueue(item);
    });
  }

  /** The interval a job's status refreshes should keep: its fair share of chat.update, never less than `baseMs`. */
  statusPacer(jobId: string, baseMs: number): StatusPacer {
    this.active.add(jobId);
    return {
      intervalMs: () => this.fairShareMs(baseMs),
      close: () => {
        this.active.remove(jobId);
        this.lastRefresh.delete(jobId);
      },
    };
  }

  fairShareMs(baseMs: number): number {
    const perWindow = sustainedPerWindow(this.o.budgets, STATUS_METHOD);
    return Math.max(baseMs, Math.ceil((this.active.count() * this.o.budgets.windowMs) / perWindow));
  }

  snapshot(): { queueDepth: number; oldestPendingSeconds: number } {
    let depth = 0;
    let oldest = Infinity;
    for (const lane of this.lanes.values()) {
      depth += lane.size;
      for (const p of lane.pending()) oldest = Math.min(oldest, p.enqueuedAt);
    }
    return { queueDepth: depth, oldestPendingSeconds: Number.isFinite(oldest) ? (Date.now() - oldest) / 1000 : 0 };
  }

  /** Retries what is due in the outbox (any replica may; claims keep two from sending the same). */
  async sweepOutbox(): Promise<void> {
    if (this.closed) return;
    try {
      const due = await this.outbox.claimDue(20, this.outboxRetryMs * 4);
      for (const entry of due) {
        this.log.info({ jobId: entry.jobId, method: entry.method, attempts: entry.attempts }, 'retrying a kept Slack call from the outbox');
        const item = this.itemFor({ method: entry.method, args: entry.args, priority: 'urgent', jobId: entry.jobId });
        item.outboxEntry = entry;
        item.waiters.push({ resolve: () => undefined, reject: () => undefined });
        this.enqueue(item);
      }
      this.o.metrics?.slackOutboxItems.set(await this.outbox.size());
    } catch (err) {
      this.log.warn({ err }, 'could not sweep the Slack outbox');
    }
  }

  /**
   * Stops: pending durable calls go to the outbox, progress is dropped (the
   * next replica re-renders), other calls fail; waits for calls in flight.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.active.close();
    const left = [...this.lanes.values()].flatMap((l) => l.close());
    this.lanes.clear();
    this.coalescing.clear();
    for (const item of left) {
      if (item.req.durable || item.outboxEntry) await this.keep(item, new Error('the dispatcher stopped before Slack took it'));
      else if (item.priority === PRIORITY.progress) this.settle(item, { outcome: 'dropped' });
      else
        this.fail(
          item,
          new SwitchboardError(ErrorCode.SlackCallFailed, `Slack ${item.req.method} not sent: the delivery closed before it went out`),
        );
    }
    await Promise.allSettled([...this.calls]);
  }

  private get outboxRetryMs(): number {
    return this.o.outboxRetryMs ?? 30_000;
  }

  private itemFor(req: CallRequest): Pending {
    const channel = typeof req.args === 'function' ? req.channel : (req.args.channel as string | undefined);
    const buckets = bucketsFor(this.o.budgets, this.workspace, req.method, channel);
    return {
      req,
      lane: buckets.map((b) => b.name).join('|') || `free:${req.method}`,
      buckets,
      priority: PRIORITY[req.priority],
      serialKey: req.coalesceKey,
      order: 0,
      notBefore: 0,
      enqueuedAt: Date.now(),
      attempts: 0,
      rateLimited: 0,
      waiters: [],
    };
  }

  private enqueue(item: Pending): void {
    // Progress: the job refreshed longest ago goes first; everything else first come, first served.
    const refreshed = item.req.statusOf !== undefined ? this.lastRefresh.get(item.req.statusOf) : undefined;
    item.order = item.priority === PRIORITY.progress && refreshed !== undefined ? refreshed : item.enqueuedAt;
    item.order = item.order * 1000 + (this.seq++ % 1000);
    if (item.req.coalesceKey !== undefined) this.coalescing.set(item.req.coalesceKey, item);
    let lane = this.lanes.get(item.lane);
    if (!lane) {
      const key = item.lane;
      lane = new DeliveryLane<Pending>(
        item.buckets,
        this.budget,
        (p) => this.launch(p),
        (k) => this.inFlight.has(k),
        (err) => this.log.warn({ err }, 'could not reach the shared Slack budget in Redis; waiting'),
        () => {
          if (this.lanes.get(key)?.size === 0) this.lanes.delete(key);
        },
      );
      this.lanes.set(key, lane);
    }
    lane.push(item);
  }

  private launch(item: Pending): void {
    if (item.req.coalesceKey !== undefined && this.coalescing.get(item.req.coalesceKey) === item)
      this.coalescing.delete(item.req.coalesceKey);
    if (item.serialKey !== undefined) this.inFlight.add(item.serialKey);
    const p = this.execute(item).finally(() => {
      this.calls.delete(p);
      if (item.serialKey !== undefined) this.inFlight.delete(item.serialKey);
      this.lanes.get(item.lane)?.poke();
    });
    this.calls.add(p);
  }

  private async execute(item: Pending): Promise<void> {
    const { method } = item.req;
    let args: CallArgs;
    try {
      args = typeof item.req.args === 'function' ? item.req.args() : item.req.args;
    } catch (err) {
      this.fail(item, err);
      return;
    }
    try {
      const result = await this.o.client.apiCall(method, args);
      this.o.metrics?.slackCalls.inc({ method, outcome: 'ok' });
      const now = Date.now();
      if (item.req.statusOf !== undefined) this.lastRefresh.set(item.req.statusOf, now);
      if (item.req.changedAt !== undefined) this.o.metrics?.slackStatusStaleness.observe((now - item.req.changedAt) / 1000);
      if (item.outboxEntry) {
        await this.outbox
          .done(item.outboxEntry.id)
          .catch((err: unknown) => this.log.warn({ err }, 'could not clear a delivered outbox item'));
        this.log.info(
          { jobId: item.req.jobId, method, keptFor: now - item.outboxEntry.keptAt },
          'delivered a kept Slack call from the outbox',
        );
      }
      this.settle(item, { outcome: 'delivered', result });
    } catch (err) {
      const failure = classifyFailure(err);
      this.o.metrics?.slackCalls.inc({ method, outcome: failure.kind === 'rate_limited' ? 'rate_limited' : failure.outcome });
      const log = this.log.child({ jobId: item.req.jobId, method });
      if (failure.kind === 'rate_limited' && item.rateLimited < MAX_RATE_LIMITED) {
        // Everyone stops spending this budget for Retry-After; this call goes again after it.
        item.rateLimited += 1;
        log.warn({ retryAfterMs: failure.retryAfterMs }, 'Slack answered 429: pausing this budget for Retry-After');
        await this.budget
          .block(item.buckets, failure.retryAfterMs)
          .catch((e: unknown) => log.warn({ err: e }, 'could not share the 429 pause'));
        this.retry(item, failure.retryAfterMs);
        return;
      }
      if (failure.kind === 'transient' && item.attempts < this.o.retries) {
        item.attempts += 1;
        const backoff = (this.o.backoffMs ?? 500) * 2 ** (item.attempts - 1);
        log.warn({ err, attempt: item.attempts, retryInMs: backoff }, 'Slack call failed; retrying');
        this.retry(item, backoff);
        return;
      }
      if (failure.kind !== 'permanent' && (item.req.durable || item.outboxEntry)) {
        await this.keep(item, err);
        return;
      }
      if (item.outboxEntry) {
        log.error({ err, keptAt: item.outboxEntry.keptAt }, 'Slack refused a kept call for good; it is dropped from the outbox');
        await this.outbox.done(item.outboxEntry.id).catch(() => undefined);
      }
      this.fail(item, err);
    }
  }

  /** Back into its lane after `delayMs`; a newer pending state of the same message takes its place. */
  private retry(item: Pending, delayMs: number): void {
    if (this.closed) {
      void (item.req.durable || item.outboxEntry
        ? this.keep(item, new Error('closed while retrying'))
        : Promise.resolve(this.settle(item, { outcome: 'dropped' })));
      return;
    }
    const newer = item.req.coalesceKey !== undefined ? this.coalescing.get(item.req.coalesceKey) : undefined;
    if (newer) {
      newer.waiters.push(...item.waiters);
      newer.notBefore = Math.max(newer.notBefore, Date.now() + delayMs);
      newer.priority = Math.min(newer.priority, item.priority) as Priority;
      return;
    }
    item.notBefore = Date.now() + delayMs;
    this.enqueue(item);
  }

  private async keep(item: Pending, err: unknown): Promise<void> {
    const log = this.log.child({ jobId: item.req.jobId, method: item.req.method });
    try {
      const args = typeof item.req.args === 'function' ? item.req.args() : item.req.args;
      if (item.outboxEntry)
        await this.outbox.retryLater(item.outboxEntry, Math.min(10 * 60_000, this.outboxRetryMs * 2 ** (item.outboxEntry.attempts + 1)));
      else await this.outbox.keep({ jobId: item.req.jobId, method: item.req.method, args }, this.outboxRetryMs);
      log.error({ err }, 'could not deliver to Slack; kept in the outbox and retried later');
      this.settle(item, { outcome: 'kept' });
    } catch (outboxErr) {
      log.error({ err, outboxErr }, 'could not deliver to Slack, and could not keep the call in the outbox either: it is lost');
      this.fail(item, err);
    }
  }

  private settle(item: Pending, d: Delivery): void {
    for (const w of item.waiters) w.resolve(d);
  }

  private fail(item: Pending, err: unknown): void {
    // Slack's own errors (WebAPIPlatformError with data.error) reach the caller as they are.
    const e =
      err instanceof Error ? err : new SwitchboardError(ErrorCode.SlackCallFailed, `Slack ${item.req.method} failed`, { cause: err });
    for (const w of item.waiters) w.reject(e);
  }
}
