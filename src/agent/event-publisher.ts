// Writes the runner's events to the job's stream, stamped with the envelope
// fields and checked against the shared schema before they leave.
import type { Redis } from 'ioredis';
import { agentEventSchema, EVENT_SCHEMA_VERSION, isTerminal, type AgentEventBody } from '../domain/events.js';
import type { Keys } from '../domain/keys.js';

import { STREAM_MAXLEN, STREAM_TTL_SECONDS } from '../domain/agent-contract.js';
const EXPIRE_EVERY = 50;

export class EventPublisher {
  private seq = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly jobId: string,
  ) {}

  async publish(body: AgentEventBody): Promise<void> {
    const event = agentEventSchema.parse({ ...body, v: EVENT_SCHEMA_VERSION, jobId: this.jobId, seq: this.seq++, ts: Date.now() });
    const key = this.keys.jobEvents(this.jobId);
    const xadd = this.redis.xadd(key, 'MAXLEN', '~', STREAM_MAXLEN, '*', 'e', JSON.stringify(event));
    // The TTL only needs setting now and then; MULTI per event costs more than the XADD (bench/event-relay).
    if (event.seq % EXPIRE_EVERY === 0 || isTerminal(event)) await this.redis.expire(key, STREAM_TTL_SECONDS);
    await xadd;
  }
}
