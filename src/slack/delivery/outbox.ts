// Results that could not be delivered (Slack down, network gone) are kept in
// Redis and retried later by whichever replica is alive, instead of being
// dropped. A sorted set orders item ids by their next attempt; each item's
// call is its own key with a TTL, like every job key.
import { randomBytes } from 'node:crypto';
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

/**
 * Claims due items for one sweeper: moves them `lease` ms into the future so
 * no other replica takes them meanwhile (a sweeper that dies just lets the lease run out).
 * KEYS[1] the sorted set · ARGV[1] now (ms) · ARGV[2] lease (ms) · ARGV[3] at most this many
 * Returns the claimed ids.
 */
const CLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id) end
return ids`;

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
