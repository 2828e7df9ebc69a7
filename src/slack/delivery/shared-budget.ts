// Token buckets in Redis that every dispatcher replica spends from, so that
// together they stay within Slack's limits.
//
// Why a small Lua script rather than rate-limiter-flexible or bottleneck:
// rate-limiter-flexible's Redis limiter counts in fixed windows, which lets
// twice the limit through across a window boundary (Slack answers 429); we
// also need, in one atomic step, (a) a priority reserve: progress may not take
// the last tokens, so a result or a final status never waits behind it, (b) a
// shared "blocked until" set from a 429's Retry-After, and (c) several buckets
// at once (all or nothing). bottleneck's cluster mode is unmaintained since
// 2019. The script below is those three rules and nothing else; time comes
// from the Redis server, so replicas with skewed clocks still agree.
import type { Redis } from 'ioredis';
import { luaScript } from '../../shared/lua.js';
import type { BucketSpec } from './budgets.js';

const TAKE = luaScript(import.meta.url, 'shared-budget-take.lua');

const BLOCK = luaScript(import.meta.url, 'shared-budget-block.lua');

export type TakeResult = { granted: true } | { granted: false; waitMs: number };

export class SharedBudget {
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (name: string) => string,
  ) {}

  /** Takes one token from each bucket (all or none); `reserve` > 0 leaves headroom for urgent calls. */
  async take(buckets: readonly BucketSpec[], reserve: number): Promise<TakeResult> {
    if (buckets.length === 0) return { granted: true };
    const [ok, wait] = (await this.redis.eval(
      TAKE,
      buckets.length,
      ...buckets.map((b) => this.keyOf(b.name)),
      reserve,
      ...params(buckets),
    )) as [number, number];
    return ok === 1 ? { granted: true } : { granted: false, waitMs: Number(wait) };
  }

  /** Slack said 429: nobody spends these buckets for `ms`, and they start empty after. */
  async block(buckets: readonly BucketSpec[], ms: number): Promise<void> {
    if (buckets.length === 0) return;
    await this.redis.eval(
      BLOCK,
      buckets.length,
      ...buckets.map((b) => this.keyOf(b.name)),
      Math.max(0, Math.round(ms)),
      ...params(buckets),
    );
  }
}

const params = (buckets: readonly BucketSpec[]): string[] => buckets.flatMap((b) => [String(b.capacity), b.refillPerMs.toPrecision(12)]);
