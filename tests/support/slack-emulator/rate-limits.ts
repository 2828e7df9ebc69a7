// Per-method rate limits, per workspace, as Slack applies them: a sliding
// window of N calls for tiered methods, and for chat.postMessage about one
// message per second per channel with a small burst allowance (token bucket).
// `timeScale` > 1 runs Slack's clock faster (benches): windows shrink and
// refills speed up by that factor.
import { METHOD_SPECS, POST_MESSAGE_BURST, POST_MESSAGE_PER_SECOND, TIER_LIMITS } from './method-specs.js';

export interface RateLimiterOptions {
  overrides: Record<string, number>;
  windowMs: number;
  timeScale: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

export class RateLimiter {
  private readonly windows = new Map<string, number[]>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly opts: RateLimiterOptions) {}

  /** Records the call against its workspace's budget and says whether it is allowed (and if not, when a slot frees). */
  take(team: string, method: string, channel: string | undefined, now = Date.now()): TakeResult {
    const override = this.opts.overrides[method];
    const spec = METHOD_SPECS[method];
    if (method === 'chat.postMessage' && override === undefined) {
      return this.takeBucket(`${team}:${method}:${channel ?? ''}`, now);
    }
    const limit = override ?? (spec && spec.tier !== 'special' ? TIER_LIMITS[spec.tier] : undefined);
    if (limit === undefined) return { ok: true };
    const key = method === 'chat.postMessage' ? `${team}:${method}:${channel ?? ''}` : `${team}:${method}`;
    return this.takeWindow(key, limit, now);
  }

  private takeWindow(key: string, limit: number, now: number): TakeResult {
    const since = now - this.opts.windowMs;
    const hits = (this.windows.get(key) ?? []).filter((t) => t > since);
    this.windows.set(key, hits);
    if (hits.length >= limit) return { ok: false, retryAfterMs: (hits[hits.length - limit] as number) + this.opts.windowMs - now };
    hits.push(now);
    return { ok: true };
  }

  private takeBucket(key: string, now: number): TakeResult {
    const perMs = (POST_MESSAGE_PER_SECOND * this.opts.timeScale) / 1000;
    const b = this.buckets.get(key) ?? { tokens: POST_MESSAGE_BURST, at: now };
    b.tokens = Math.min(POST_MESSAGE_BURST, b.tokens + (now - b.at) * perMs);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return { ok: false, retryAfterMs: (1 - b.tokens) / perMs };
    b.tokens -= 1;
    return { ok: true };
  }
}
