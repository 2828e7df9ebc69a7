// One lane per budget (a method per workspace, or chat.postMessage per
// channel). A lane hands out its calls in priority order as its shared bucket
// allows, and never waits for a call to finish: a slow or rate-limited call
// holds up nothing but its own lane's budget. Lanes know nothing of Slack
// beyond the buckets they spend.
import type { BucketSpec } from './budgets.js';
import type { SharedBudget } from './shared-budget.js';

/** Lower goes first. */
export const PRIORITY = {
  /** Results, failures, questions, replies to people, final statuses. */
  urgent: 0,
  /** A new job's first status message. */
  post: 1,
  /** Status refreshes of running jobs. */
  progress: 2,
} as const;
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];

/** Tokens progress must leave in a bucket, so urgent calls find one at once. */
const PROGRESS_RESERVE = 1;

export interface LaneItem {
  priority: Priority;
  /** Calls with the same key never run at the same time (one message's updates stay in order). */
  serialKey?: string;
  /** Among equal priorities: smaller first (status: the job refreshed longest ago). */
  order: number;
  /** Not before this time (a retry's back-off). */
  notBefore: number;
}

export class DeliveryLane<T extends LaneItem> {
  private readonly items: T[] = [];
  private wake?: () => void;
  private running = false;
  private closed = false;

  constructor(
    readonly buckets: readonly BucketSpec[],
    private readonly budget: SharedBudget,
    /** Starts the call; must not throw. */
    private readonly start: (item: T) => void,
    private readonly busy: (serialKey: string) => boolean,
    private readonly onError: (err: unknown) => void,
    private readonly onIdle: () => void,
  ) {}

  get size(): number {
    return this.items.length;
  }

  pending(): readonly T[] {
    return this.items;
  }

  push(item: T): void {
    this.items.push(item);
    this.poke();
  }

  remove(item: T): boolean {
    const i = this.items.indexOf(item);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** Something changed (a new item, a call finished): look again now instead of after the current wait. */
  poke(): void {
    if (this.wake) this.wake();
    else if (!this.running && !this.closed) void this.run();
  }

  /** Stops handing out calls; returns what was still waiting. */
  close(): T[] {
    this.closed = true;
    this.wake?.();
    return this.items.splice(0);
  }

  private next(now: number): { item?: T; retryAt?: number } {
    let best: T | undefined;
    let retryAt: number | undefined;
    for (const it of this.items) {
      if (it.serialKey !== undefined && this.busy(it.serialKey)) continue;
      if (it.notBefore > now) {
        retryAt = Math.min(retryAt ?? Infinity, it.notBefore);
        continue;
      }
      if (!best || it.priority < best.priority || (it.priority === best.priority && it.order < best.order)) best = it;
    }
    return { item: best, retryAt };
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.items.length > 0) {
        const { item, retryAt } = this.next(Date.now());
        if (!item) {
          // Everything waits on a back-off or on a call in flight for the same message.
          await this.sleep(retryAt === undefined ? 60_000 : retryAt - Date.now());
          continue;
        }
        let waitMs = 0;
        try {
          const r = await this.budget.take(this.buckets, item.priority === PRIORITY.progress ? PROGRESS_RESERVE : 0);
          if (!r.granted) waitMs = r.waitMs;
        } catch (err) {
          // Redis is away: wait a little rather than spend Slack's budget blind.
          this.onError(err);
          waitMs = 1000;
        }
        if (waitMs > 0) {
          await this.sleep(waitMs);
          continue;
        }
        // The item may have been taken or replaced while the budget answered.
        if (!this.remove(item)) continue;
        this.start(item);
      }
    } finally {
      this.running = false;
      if (this.items.length === 0) this.onIdle();
      else if (!this.closed) void this.run();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      this.wake = done;
    });
  }
}
