import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';

const REMEMBER_SECONDS = 60 * 60;

/**
 * Slack redelivers events (retries, Socket Mode reconnects), and any replica
 * may receive any delivery. The first replica to claim an event id handles it.
 */
export class EventDedupe {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** True the first time an id is seen (within `ttlSeconds`, default an hour), false for every redelivery. */
  async firstSighting(eventId: string, ttlSeconds = REMEMBER_SECONDS): Promise<boolean> {
    return (await this.redis.set(this.keys.slackEvent(eventId), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }
}
