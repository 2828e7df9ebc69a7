import type { Redis } from 'ioredis';

import { HEARTBEAT_EVERY_MS, HEARTBEAT_TTL_MS } from '../domain/agent-contract.js';

export { HEARTBEAT_EVERY_MS, HEARTBEAT_TTL_MS };
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
