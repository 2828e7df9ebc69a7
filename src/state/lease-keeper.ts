// One lease keeper per replica (after bullmq's LockManager): it renews every
// lease this replica holds — channel and workspace locks of the jobs it runs,
// the channels of queued jobs, each job's supervision lease, the reconciler's
// lease — in one batched script per tick, instead of a timer per holder. A
// lease found lost (gone, or owned by someone else) is dropped and its holder
// told, so that two replicas never act as the owner of one thing. A Redis
// error is not a loss: the lease is tried again at the next tick.
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { luaScript } from '../shared/lua.js';
import { releaseOwned, renewOwned } from './owner-lease.js';

const TAKE = luaScript(import.meta.url, 'lease-keeper-take.lua');

export interface Lease {
  /** What it is, for logs: 'channel', 'workspace', 'supervision', 'reconciler', … */
  kind: string;
  key: string;
  owner: string;
  leaseMs: number;
  /** Told once, when the lease is found gone or owned by someone else; it is no longer renewed. */
  onLost?: () => void;
}

/** A lease this keeper renews until `stop()` (which leaves the key alone) or `release()` (which deletes it). */
export interface HeldLease {
  readonly lease: Lease;
  /** False once the lease was found lost. */
  readonly held: boolean;
  /** Stops renewing; the key lapses on its own, or the caller frees it its own way. */
  stop(): void;
  /** Stops renewing and deletes the key if it is still ours. */
  release(): Promise<void>;
}

export interface LeaseKeeperOptions {
  redis: Redis;
  logger: Logger;
  /** How often the keeper looks for leases due for renewal; each lease is renewed after a quarter of its time. */
  tickMs?: number;
}

interface Tracked {
  lease: Lease;
  renewedAt: number;
  held: boolean;
}

interface Group {
  kind: string;
  everyMs: number;
  lastAt: number;
  leases: () => Promise<Lease[]>;
}

export class LeaseKeeper {
  private readonly tracked = new Set<Tracked>();
  private readonly groups: Group[] = [];
  private timer?: NodeJS.Timeout;
  private ticking = false;
  private failing = false;
  private readonly tickMs: number;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.tickMs = options.tickMs ?? 1000;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** Stops renewing everything; keys lapse on their own (another replica takes over after a lease). */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.tracked.clear();
  }

  /** Renews a lease the caller already holds, until stopped, released or lost. */
  hold(lease: Lease): HeldLease {
    const entry: Tracked = { lease, renewedAt: Date.now(), held: true };
    this.tracked.add(entry);
    const redis = this.options.redis;
    const tracked = this.tracked;
    return {
      lease,
      get held() {
        return entry.held;
      },
      stop: () => void tracked.delete(entry),
      release: async () => {
        tracked.delete(entry);
        entry.held = false;
        await releaseOwned(redis, lease.key, lease.owner);
      },
    };
  }

  /** Takes a free lease (or confirms one the owner already has) and holds it; undefined when someone else has it. */
  async acquire(lease: Lease): Promise<HeldLease | undefined> {
    const took = (await this.options.redis.eval(TAKE, 1, lease.key, lease.owner, String(lease.leaseMs))) === 1;
    return took ? this.hold(lease) : undefined;
  }

  /**
   * Renews, every `everyMs`, leases that come from elsewhere (queued jobs' channels, which any
   * replica may have taken): lost ones are simply not renewed.
   */
  renewEvery(kind: string, everyMs: number, leases: () => Promise<Lease[]>): void {
    this.groups.push({ kind, everyMs, lastAt: Date.now(), leases });
  }

  /** One round: renews what is due. Exposed for tests; the timer calls it. */
  async tick(now = Date.now()): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const due = [...this.tracked].filter((t) => now - t.renewedAt >= t.lease.leaseMs / 4);
      const extra: Lease[] = [];
      for (const group of this.groups) {
        if (now - group.lastAt < group.everyMs) continue;
        group.lastAt = now;
        extra.push(...(await group.leases()));
      }
      if (!due.length && !extra.length) return;
      const leases = [...due.map((t) => t.lease), ...extra];
      const renewed = await renewOwned(this.options.redis, leases);
      due.forEach((t, i) => {
        if (renewed[i]) {
          t.renewedAt = now;
          return;
        }
        if (!this.tracked.has(t)) return; // stopped while the renewal was in flight
        this.tracked.delete(t);
        t.held = false;
        this.options.logger.warn(
          { kind: t.lease.kind, key: t.lease.key, owner: t.lease.owner },
          'a lease was lost: its holder stops acting on it',
        );
        t.lease.onLost?.();
      });
      if (this.failing) this.options.logger.info('renewing leases works again');
      this.failing = false;
    } catch (err) {
      // Not a loss: Redis may be back before any lease runs out.
      if (!this.failing) this.options.logger.warn({ err }, 'could not renew leases; trying again at every tick (said once)');
      this.failing = true;
    } finally {
      this.ticking = false;
    }
  }
}
