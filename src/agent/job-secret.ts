// The runner's own secret (the tracker token) arrives through Redis, not the
// container's environment: the dispatcher writes it to the job's secret key
// just before the start, and the runner takes it with GETDEL (the only command
// its Redis user may run on that key) before the agent command exists. The
// agent command can read the runner's environment (/proc/<pid>/environ) and
// even its Redis URL, but by then the key is gone.
import type { Redis } from 'ioredis';
import type { JobSecret } from '../domain/job-secret.js';

/** Takes (reads and deletes) the job's secret; an absent or unreadable one is an empty secret. */
export async function takeJobSecret(redis: Redis, key: string, log: (msg: string) => void = () => undefined): Promise<JobSecret> {
  let raw: unknown;
  try {
    raw = await redis.call('GETDEL', key);
  } catch (err) {
    // A dispatcher older than this runner made a Redis user without the secret key: run without a token.
    log(`could not take the job's secret (${(err as Error).message}); going on without a tracker token`);
    return {};
  }
  if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) return {};
  try {
    const value: unknown = JSON.parse(String(raw));
    if (value === null || typeof value !== 'object') return {};
    const token = (value as { trackerToken?: unknown }).trackerToken;
    return typeof token === 'string' && token ? { trackerToken: token } : {};
  } catch {
    return {};
  }
}
