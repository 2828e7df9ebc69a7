import { Redis, type RedisOptions } from 'ioredis';

/**
 * Opens a Redis connection. `purpose` names it in CLIENT LIST so an operator can
 * tell the dispatcher's connections apart. Blocking readers need their own.
 */
export function connectRedis(url: string, purpose: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { connectionName: `switchboard:${purpose}`, lazyConnect: false, ...extra });
}
