import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';
import { HandledOnce, type ClaimOutcome } from './handled-once.js';

/** How long a handled delivery is remembered (Slack retries within minutes; Socket Mode redelivers at once). */
export const REMEMBER_SECONDS = 60 * 60;
/** How long one replica may take before a redelivery is handled elsewhere; renewed while it works. */
export const HANDLING_LEASE_MS = 30_000;

/**
 * Slack redelivers (retries, Socket Mode reconnects), and any replica may
 * receive any delivery. A delivery is claimed while it is handled and marked
 * done after: a repeat is skipped, but a replica that dies half-way lets its
 * claim lapse, so a later redelivery is handled (at least once, handled once).
 */
export class EventDedupe {
  private readonly once: HandledOnce;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    leaseMs = HANDLING_LEASE_MS,
    onError?: (err: unknown) => void,
  ) {
    this.once = new HandledOnce(redis, leaseMs, onError);
  }

  /** Claims a delivery for handling; see HandledOnce. */
  claim(id: string): Promise<ClaimOutcome> {
    return this.once.claim(this.keys.slackEvent(id));
  }
}
