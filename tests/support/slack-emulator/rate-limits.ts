// Per-method rate limits, per workspace, as Slack applies them: a sliding
// window of N calls for tiered methods, and for chat.postMessage about one
// message per second per channel with a small burst allowance (token bucket).
import { METHOD_SPECS, POST_MESSAGE_BURST, POST_MESSAGE_PER_SECOND, TIER_LIMITS } from './method-specs.js';

export interface RateLimiterOptions {
  overrides: Record<string, number>;
  windowMs: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, number[]>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly opts: RateLimiterOptions) {}

  /** Records the call and says whether it is allowed. */
  take(method: string, channel: string | undefined, now = Date.now()): boolean {
    const override = this.opts.overrides[method];
    const spec = METHOD_SPECS[method];
    if (method === 'chat.postMessage' && override === undefined) {
      return this.takeBucket(`${method}:${channel ?? ''}`, now);
    }
    const limit = override ?? (spec && spec.tier !== 'special' ? TIER_LIMITS[spec.tier] : undefined);
    if (limit === undefined) return true;
    const key = method === 'chat.postMessage' ? `${method}:${channel ?? ''}` : method;
    return this.takeWindow(key, limit, now);
  }

  private takeWindow(key: string, limit: number, now: number): boolean {
    const since = now - this.opts.windowMs;
    const hits = (this.windows.get(key) ?? []).filter((t) => t > since);
    this.windows.set(key, hits);
    if (hits.length >= limit) return false;
    hits.push(now);
    return true;
  }

  private takeBucket(key: string, now: number): boolean {
    const b = this.buckets.get(key) ?? { tokens: POST_MESSAGE_BURST, at: now };
    b.tokens = Math.min(POST_MESSAGE_BURST, b.tokens + ((now - b.at) / 1000) * POST_MESSAGE_PER_SECOND);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
