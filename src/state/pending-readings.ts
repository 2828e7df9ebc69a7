// Readings of free text waiting for their requester's Run (chat/free-text.ts),
// one key each with a TTL: any replica can show, run or drop them. `take`
// hands a reading out once, and only to its requester, atomically, so two
// presses of Run (or Run on two replicas) run it once.
import type { Redis } from 'ioredis';
import { luaScript } from '../shared/lua.js';
import type { PendingReading } from '../domain/free-text.js';

const TAKE = luaScript(import.meta.url, 'pending-readings-take.lua');

export type Taken = { kind: 'taken'; reading: PendingReading } | { kind: 'not-yours'; reading: PendingReading } | { kind: 'gone' };

export class PendingReadings {
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (id: string) => string,
  ) {}

  async save(reading: PendingReading, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.keyOf(reading.id), JSON.stringify(reading), 'EX', ttlSeconds);
  }

  /** For the requester: the reading, removed so it runs once. For anyone else: the reading, left in place. */
  async take(id: string, user: string): Promise<Taken> {
    const [kind, json] = (await this.redis.eval(TAKE, 1, this.keyOf(id), user)) as [string, string?];
    if (kind === 'gone' || json === undefined) return { kind: 'gone' };
    return { kind: kind === 'taken' ? 'taken' : 'not-yours', reading: JSON.parse(json) as PendingReading };
  }
}
