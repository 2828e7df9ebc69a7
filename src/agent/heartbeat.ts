import type { Redis } from 'ioredis';

export const HEARTBEAT_TTL_MS = 10_000;
export const HEARTBEAT_EVERY_MS = 3_000;
const STOP_WAIT_MS = 2_000;

/** Keeps `key` alive while the runner lives; the dispatcher fails the job when it lapses. */
export function startHeartbeat(redis: Redis, key: string, onError: (err: Error) => void): () => Promise<void> {
  const beat = () => redis.set(key, String(Date.now()), 'PX', HEARTBEAT_TTL_MS).then(() => undefined, onError);
  void beat();
  const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
  return async () => {
    clearInterval(timer);
    // Bounded: once the job has ended its Redis user may be gone, and a DEL would wait for a reconnect that never works.
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([redis.del(key).catch(onError), new Promise((r) => (timeout = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(timeout);
  };
}
