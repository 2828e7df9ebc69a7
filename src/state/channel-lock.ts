// One job per channel. The lock's value is the owning job's id (the owner
// token); only the owner may renew or release it, and a lease TTL frees a
// channel whose owner vanished without anyone to release it.
import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';

/**
 * KEYS[1] lock key · ARGV[1] owner token · ARGV[2] lease ms
 * Returns 1 when the caller owns the lock (renewed), 0 otherwise.
 */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

/**
 * KEYS[1] lock key · ARGV[1] owner token
 * Returns 1 when the lock was released, 0 when the caller did not own it.
 */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export type AcquireResult = { acquired: true } | { acquired: false; holder: string };

export class ChannelLock {
  private readonly keyOf: (id: string) => string;

  /** `keyOf` picks what is locked: channels by default; `workspaceLock()` locks workspaces the same way. */
  constructor(
    private readonly redis: Redis,
    keys: Keys,
    keyOf?: (id: string) => string,
  ) {
    this.keyOf = keyOf ?? keys.channelLock;
  }

  /** Atomically takes the channel for `owner`, or tells who holds it. */
  async acquire(channel: string, owner: string, leaseMs: number): Promise<AcquireResult> {
    const key = this.keyOf(channel);
    for (let attempt = 0; attempt < 3; attempt++) {
      const ok = await this.redis.set(key, owner, 'PX', leaseMs, 'NX');
      if (ok === 'OK') return { acquired: true };
      const holder = await this.redis.get(key);
      if (holder !== null) return holder === owner ? { acquired: true } : { acquired: false, holder };
      // The holder's lease ended between SET and GET: try again.
    }
    return { acquired: false, holder: 'unknown' };
  }

  /** Extends the lease if `owner` still holds the channel. */
  async renew(channel: string, owner: string, leaseMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.keyOf(channel), owner, String(leaseMs))) === 1;
  }

  /** Frees the channel if `owner` holds it; never frees someone else's lock. */
  async release(channel: string, owner: string): Promise<boolean> {
    return (await this.redis.eval(RELEASE, 1, this.keyOf(channel), owner)) === 1;
  }

  /** The Redis key of one channel's (or workspace's) lock, for the lease keeper. */
  keyFor(channel: string): string {
    return this.keyOf(channel);
  }

  async holder(channel: string): Promise<string | null> {
    return this.redis.get(this.keyOf(channel));
  }
}

/** One job at a time per workspace, across channels: the same lease lock, keyed by the workspace's host path. */
export const workspaceLock = (redis: Redis, keys: Keys): ChannelLock => new ChannelLock(redis, keys, keys.workspaceLock);
