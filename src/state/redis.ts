import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { ErrorCode, isRedisUnavailable, SwitchboardError } from '../errors.js';
import { stripUrlCredentials } from '../domain/text.js';

/**
 * Opens a Redis connection. `purpose` names it in CLIENT LIST so an operator can
 * tell the dispatcher's connections apart. Blocking readers need their own.
 *
 * With a `logger`, connection trouble is logged once per outage (lost, then
 * back) instead of ioredis's "[ioredis] Unhandled error event" on every retry.
 */
export function connectRedis(url: string, purpose: string, extra: RedisOptions = {}, logger?: Logger): Redis {
  const redis = new Redis(url, { connectionName: `switchboard:${purpose}`, lazyConnect: false, ...extra });
  logConnectionTrouble(redis, url, purpose, logger);
  return redis;
}

/** host:port of a Redis URL, for log lines (never its credentials). */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return stripUrlCredentials(url);
  }
}

/**
 * An 'error' listener that says "lost" once and "back" once per outage. Without
 * any listener ioredis prints every reconnect failure as an unhandled error event.
 */
export function logConnectionTrouble(redis: Redis, url: string, purpose: string, logger?: Logger): void {
  // Until the first ready, start-up (waitForRedis) speaks for it: one line, not two.
  let down = true;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger?.warn({ err, redis: redisAddress(url), connection: purpose }, 'lost the connection to Redis; reconnecting');
  });
  let wasUp = false;
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    if (!wasUp) return void (wasUp = true);
    logger?.info({ redis: redisAddress(url), connection: purpose }, 'the connection to Redis is back');
  });
}

/** Redis did not answer at start: the operator's REDIS_URL, or a Redis that is not running. */
export class RedisUnreachableError extends SwitchboardError {
  constructor(url: string, waitedMs: number, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      ErrorCode.RedisUnreachable,
      `Redis at ${redisAddress(url)} did not answer within ${Math.round(waitedMs / 1000)} s (${why}): check REDIS_URL and that Redis is running and reachable from here`,
      { operatorHint: 'set REDIS_URL (redis://user:password@host:port) to a Redis 7 this process can reach', cause },
    );
    this.name = 'RedisUnreachableError';
  }
}

/**
 * Waits for a first answer from Redis (PING), at most `timeoutMs`; throws
 * RedisUnreachableError otherwise. The connection is left open on success.
 */
export async function waitForRedis(redis: Redis, url: string, timeoutMs: number): Promise<void> {
  let lastError: unknown = new Error('no answer');
  const onError = (err: unknown) => (lastError = err);
  redis.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new RedisUnreachableError(url, timeoutMs, lastError)), timeoutMs))),
    ]);
  } catch (err) {
    if (err instanceof RedisUnreachableError) throw err;
    // The connection's own error (ECONNREFUSED…) says more than "max retries per request".
    throw new RedisUnreachableError(url, timeoutMs, isRedisUnavailable(lastError) ? lastError : err);
  } finally {
    clearTimeout(timer);
    redis.off('error', onError);
  }
}

/**
 * Whether Redis answers right now, as far as this replica can tell: the
 * connection's state, and a PING every `probeMs` (a partition that drops
 * packets leaves a connection "ready" that no longer answers).
 */
export class RedisHealth {
  private up: boolean;
  private readonly timer: NodeJS.Timeout;
  private probing = false;
  private silentProbes = 0;

  constructor(
    private readonly redis: Redis,
    probeMs = 2000,
  ) {
    this.up = redis.status === 'ready';
    redis.on('ready', () => (this.up = true));
    for (const lost of ['close', 'reconnecting', 'end'] as const) redis.on(lost, () => (this.up = false));
    this.timer = setInterval(() => void this.probe(probeMs), probeMs);
    this.timer.unref();
  }

  get available(): boolean {
    return this.up;
  }

  private async probe(timeoutMs: number): Promise<void> {
    if (this.probing || this.redis.status !== 'ready') return;
    this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const answered = await Promise.race([
        this.redis.ping().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
      ]);
      this.up = answered;
      // Still "ready" but silent: a partition that drops packets. A new connection finds out when Redis is back
      // (commands waiting on this one are sent again on the new one).
      this.silentProbes = answered ? 0 : this.silentProbes + 1;
      if (this.silentProbes >= 2 && this.redis.status === 'ready') this.redis.disconnect(true);
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
