// One job per channel. The lock's value is the owning job's id (the owner
// token); only the owner may renew or release it, and a lease TTL frees a
// channel whose owner vanished without anyone to release it.
import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';
import { releaseOwned, renewOwned } from './owner-lease.js';

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
    const [renewed] = await renewOwned(this.redis, [{ key: this.keyOf(channel), owner, leaseMs }]);
    return renewed === true;
  }

  /** Frees the channel if `owner` holds it; never frees someone else's lock. */
  async release(channel: string, owner: string): Promise<boolean> {
    return releaseOwned(this.redis, this.keyOf(channel), owner);
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
