// Writes the runner's events to the job's stream, stamped with the envelope
// fields and checked against the shared schema before they leave.
import type { Redis } from 'ioredis';
import { agentEventSchema, EVENT_SCHEMA_VERSION, type AgentEventBody } from '../domain/events.js';
import type { Keys } from '../domain/keys.js';

const STREAM_MAXLEN = 1000;
const STREAM_TTL_SECONDS = 7 * 24 * 60 * 60;

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
    await this.redis
      .multi()
      .xadd(key, 'MAXLEN', '~', STREAM_MAXLEN, '*', 'e', JSON.stringify(event))
      .expire(key, STREAM_TTL_SECONDS)
      .exec();
  }
}
