import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** The test run's Redis (tests/support/global-setup.ts starts one). */
export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: tests/support/global-setup.ts starts redis-server');
  return url;
}

/** A key prefix of this test's own. */
export const uniquePrefix = (): string => `sbtest:${randomBytes(4).toString('hex')}:`;

/** Deletes every key matching `pattern` (SCAN, not KEYS). */
export async function deleteKeys(client: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (found.length) await client.del(...found);
  } while (cursor !== '0');
}
