// Results that could not be delivered (Slack down, network gone) are kept in
// Redis and retried later by whichever replica is alive, instead of being
// dropped. A sorted set orders item ids by their next attempt; each item's
// call is its own key with a TTL, like every job key.
import { randomBytes } from 'node:crypto';
import { luaScript } from '../../shared/lua.js';
import type { Redis } from 'ioredis';

export const OUTBOX_TTL_SECONDS = 7 * 24 * 60 * 60;

export interface OutboxEntry {
  id: string;
  jobId?: string;
  method: string;
  args: Record<string, unknown>;
  keptAt: number;
  /** Sweeps that tried it and failed again. */
  attempts: number;
}

const CLAIM = luaScript(import.meta.url, 'outbox-claim.lua');

export class Outbox {
  constructor(
    private readonly redis: Redis,
    private readonly setKey: string,
    private readonly itemKey: (id: string) => string,
  ) {}

  async keep(entry: Omit<OutboxEntry, 'id' | 'attempts' | 'keptAt'>, retryInMs: number): Promise<OutboxEntry> {
    const full: OutboxEntry = {
      ...entry,
      id: `${entry.jobId ?? 'call'}-${randomBytes(4).toString('hex')}`,
      keptAt: Date.now(),
      attempts: 0,
    };
    await this.save(full, retryInMs);
    return full;
  }

  async retryLater(entry: OutboxEntry, retryInMs: number): Promise<void> {
    await this.save({ ...entry, attempts: entry.attempts + 1 }, retryInMs);
  }

  async claimDue(limit: number, leaseMs: number): Promise<OutboxEntry[]> {
    const ids = (await this.redis.eval(CLAIM, 1, this.setKey, Date.now(), leaseMs, limit)) as string[];
    const out: OutboxEntry[] = [];
    for (const id of ids) {
      const raw = await this.redis.get(this.itemKey(id));
      if (raw === null)
        await this.redis.zrem(this.setKey, id); // expired after 7 days of failing
      else out.push(JSON.parse(raw) as OutboxEntry);
    }
    return out;
  }

  async done(id: string): Promise<void> {
    await this.redis.multi().zrem(this.setKey, id).del(this.itemKey(id)).exec();
  }

  size(): Promise<number> {
    return this.redis.zcard(this.setKey);
  }

  private async save(entry: OutboxEntry, retryInMs: number): Promise<void> {
    await this.redis
      .multi()
      .set(this.itemKey(entry.id), JSON.stringify(entry), 'EX', OUTBOX_TTL_SECONDS)
      .zadd(this.setKey, Date.now() + retryInMs, entry.id)
      .expire(this.setKey, OUTBOX_TTL_SECONDS)
      .exec();
  }
}
