// Which shared budget a Slack Web API call spends, following Slack's published
// rate-limit tiers: per method and per workspace, and chat.postMessage per
// channel (about one message a second, short bursts allowed).
//
// Each budget is a token bucket shaped so that no window of `windowMs` ever
// holds more than the limit: capacity (burst) C and refill (L - C - 1) per
// window give at most L - 1 calls in any window, which is what a sliding
// per-minute counter at Slack (and in our emulator) accepts, with one call to
// spare for network jitter (a call granted here arrives a little later there). The bucket, not a
// fixed per-minute counter, because a fixed window lets 2 × L through across a
// window boundary, and because a steady refill spreads status updates evenly.

/** Slack's tiers, in calls per minute per workspace (api.slack.com/apis/rate-limits). */
export const TIER_PER_MINUTE = { 1: 1, 2: 20, 3: 50, 4: 100 } as const;

/** The methods Switchboard calls (or will call: questions, reactions) and their tier. */
export const METHOD_TIERS: Record<string, keyof typeof TIER_PER_MINUTE> = {
  'chat.update': 3,
  'chat.delete': 3,
  'chat.getPermalink': 4,
  'chat.postEphemeral': 4,
  'conversations.info': 3,
  'conversations.replies': 3,
  'reactions.add': 3,
  'reactions.remove': 2,
  'users.info': 4,
  'views.open': 4,
};

export const POST_MESSAGE = 'chat.postMessage';

export interface BudgetSettings {
  /** Length of the window the limits count in; 60 000 like Slack (shorter only against a time-scaled emulator). */
  windowMs: number;
  /** Calls per window per workspace, by method: the tiers, with operator overrides applied. */
  methodLimits: Record<string, number>;
  /** chat.postMessage per channel per window (Slack: about 1 a second). */
  channelPostLimit: number;
}

export function defaultBudgetSettings(overrides: Partial<BudgetSettings> = {}): BudgetSettings {
  const tiers = Object.fromEntries(Object.entries(METHOD_TIERS).map(([m, t]) => [m, TIER_PER_MINUTE[t]]));
  return {
    windowMs: overrides.windowMs ?? 60_000,
    methodLimits: { ...tiers, ...overrides.methodLimits },
    channelPostLimit: overrides.channelPostLimit ?? 60,
  };
}

export interface BucketSpec {
  /** Redis key suffix, unique per workspace + method (+ channel). */
  name: string;
  capacity: number;
  refillPerMs: number;
}

/** A bucket that never lets more than `limit` calls into any `windowMs`. */
export function bucketShape(limit: number, windowMs: number): Pick<BucketSpec, 'capacity' | 'refillPerMs'> {
  const capacity = Math.min(5, Math.max(1, Math.floor(limit / 15)));
  return { capacity, refillPerMs: Math.max(limit - capacity - 1, 1) / windowMs };
}

/** The buckets one call spends (none: the method has no known limit, e.g. auth.test). */
export function bucketsFor(settings: BudgetSettings, workspace: string, method: string, channel: string | undefined): BucketSpec[] {
  if (method === POST_MESSAGE) {
    return [{ name: `${workspace}:${method}:${channel ?? '-'}`, ...bucketShape(settings.channelPostLimit, settings.windowMs) }];
  }
  const limit = settings.methodLimits[method];
  return limit === undefined ? [] : [{ name: `${workspace}:${method}`, ...bucketShape(limit, settings.windowMs) }];
}

/** Status refreshes one budget allows per window, when the burst is spent (for the fair share). */
export function sustainedPerWindow(settings: BudgetSettings, method: string): number {
  const limit = settings.methodLimits[method];
  if (limit === undefined) return Infinity;
  return bucketShape(limit, settings.windowMs).refillPerMs * settings.windowMs;
}
