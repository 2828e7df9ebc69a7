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
import type { BucketSpec } from './budgets.js';

/**
 * Takes one token from every bucket, or none.
 * KEYS[i]   one hash per bucket: t (tokens), a (last refill, ms), b (blocked until, ms)
 * ARGV[1]   reserve: tokens that must remain in a bucket after this call (0 for urgent calls;
 *           capped at capacity - 1 so a one-token bucket still serves everyone)
 * ARGV[2+2(i-1)], ARGV[3+2(i-1)]   capacity and refill per ms of KEYS[i]
 * Returns {1, 0} when taken, {0, wait ms} when not (wait: until the slowest bucket has enough).
 */
const TAKE = `
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local reserve = tonumber(ARGV[1])
local state = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local h = redis.call('HMGET', key, 't', 'a', 'b')
  local tokens = tonumber(h[1]) or cap
  local at = tonumber(h[2]) or now
  local blocked = tonumber(h[3]) or 0
  if now > at then tokens = math.min(cap, tokens + (now - at) * rate) end
  local need = 1 + math.min(reserve, cap - 1)
  if blocked > now then
    wait = math.max(wait, blocked - now)
  elseif tokens < need then
    wait = math.max(wait, math.ceil((need - tokens) / rate))
  end
  state[i] = { tokens, cap, rate, blocked }
end
if wait > 0 then return { 0, wait } end
for i, key in ipairs(KEYS) do
  local s = state[i]
  redis.call('HSET', key, 't', tostring(s[1] - 1), 'a', now, 'b', s[4])
  redis.call('PEXPIRE', key, math.ceil(s[2] / s[3]) + 1000)
end
return { 1, 0 }`;

/**
 * Empties the buckets and blocks them for a 429's Retry-After (every replica waits).
 * KEYS[i]   the buckets · ARGV[1] ms to block · ARGV[2+2(i-1)], ARGV[3+2(i-1)] capacity, refill per ms
 * Returns the blocked-until time (ms, server clock).
 */
const BLOCK = `
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local blocked = math.max(tonumber(redis.call('HGET', key, 'b')) or 0, untilMs)
  redis.call('HSET', key, 't', '0', 'a', blocked, 'b', blocked)
  redis.call('PEXPIRE', key, (blocked - now) + math.ceil(cap / rate) + 1000)
end
return untilMs`;

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
