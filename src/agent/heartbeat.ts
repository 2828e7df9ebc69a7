import type { Redis } from 'ioredis';

import { HEARTBEAT_EVERY_MS, HEARTBEAT_TTL_MS } from '../domain/agent-contract.js';

export { HEARTBEAT_EVERY_MS, HEARTBEAT_TTL_MS };
const STOP_WAIT_MS = 2_000;
/** A beat with no answer for this long means a dead connection (a partition that drops packets): it is made again. */
const NO_ANSWER_MS = 10_000;

/**
 * Keeps `key` alive while the runner lives; the dispatcher fails the job when it lapses.
 * Through a Redis outage the beats go on failing quietly (said once), and resume by themselves.
 */
export function startHeartbeat(redis: Redis, key: string, onError: (err: Error) => void): () => Promise<void> {
  let failing = false;
  let inFlight = false;
  const beat = async () => {
    if (inFlight) return; // the last one still waits for Redis: one at a time, not a pile-up
    inFlight = true;
    // The beat in flight is sent again on the new connection (ioredis), and settles there.
    const watchdog = setInterval(() => redis.disconnect(true), NO_ANSWER_MS);
    try {
      await redis.set(key, String(Date.now()), 'PX', HEARTBEAT_TTL_MS);
      if (failing) onError(new Error('resumed: Redis answers again'));
      failing = false;
    } catch (err) {
      if (!failing) onError(err as Error);
      failing = true;
    } finally {
      clearInterval(watchdog);
      inFlight = false;
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), HEARTBEAT_EVERY_MS);
  return async () => {
    clearInterval(timer);
    // Bounded: once the job has ended its Redis user may be gone, and a DEL would wait for a reconnect that never works.
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([redis.del(key).catch(onError), new Promise((r) => (timeout = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(timeout);
  };
}
