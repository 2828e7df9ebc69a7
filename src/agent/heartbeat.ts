import type { Redis } from 'ioredis';

export const HEARTBEAT_TTL_MS = 10_000;
export const HEARTBEAT_EVERY_MS = 3_000;

/** Keeps `key` alive while the runner lives; the dispatcher fails the job when it lapses. */
export function startHeartbeat(redis: Redis, key: string, onError: (err: Error) => void): () => Promise<void> {
  const beat = () => redis.set(key, String(Date.now()), 'PX', HEARTBEAT_TTL_MS).then(() => undefined, onError);
  void beat();
  const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
  return async () => {
    clearInterval(timer);
    await redis.del(key).catch(onError);
  };
}
