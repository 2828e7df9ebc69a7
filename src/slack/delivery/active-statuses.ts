// How many jobs, across all replicas, are refreshing a status message right
// now: the N of the fair share (N jobs and B updates a minute give each job
// one update every N/B minutes). Each replica re-announces its own jobs every
// few seconds; a replica that dies stops announcing and its jobs drop out.
import type { Redis } from 'ioredis';
import { luaScript } from '../../shared/lua.js';

const ANNOUNCE = luaScript(import.meta.url, 'active-statuses-announce.lua');

export class ActiveStatuses {
  private readonly local = new Set<string>();
  private shared = 0;
  private timer?: NodeJS.Timeout;
  private soon = false;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly announceEveryMs = 2000,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.announce(), this.announceEveryMs);
    this.timer.unref();
  }

  add(jobId: string): void {
    if (this.local.has(jobId)) return;
    this.local.add(jobId);
    this.shared += 1; // counted at once; the next announcement corrects it
    // Many jobs starting together make one announcement, not one each.
    if (this.soon) return;
    this.soon = true;
    setImmediate(() => {
      this.soon = false;
      void this.announce();
    });
  }

  remove(jobId: string): void {
    if (!this.local.delete(jobId)) return;
    this.shared = Math.max(this.local.size, this.shared - 1);
    this.redis.zrem(this.key, jobId).catch(this.onError);
  }

  /** Jobs refreshing a status message on every replica (at least this replica's own). */
  count(): number {
    return Math.max(this.shared, this.local.size);
  }

  async announce(): Promise<void> {
    try {
      const n = await this.redis.eval(ANNOUNCE, 1, this.key, this.announceEveryMs * 5, ...this.local);
      this.shared = Number(n);
    } catch (err) {
      this.onError(err);
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const ids = [...this.local];
    this.local.clear();
    if (ids.length) this.redis.zrem(this.key, ...ids).catch(this.onError);
  }
}
