// What the inference endpoint tells a job's relay, through the job's own event
// stream (the relay's only input, whichever replica supervises the job):
// `usage` after each request (tokens, GPU-seconds), and `waiting` while a
// request waits for a GPU slot (its place in line; 0 once it has one).
// These events are written by the dispatcher, never by the agent.
import type { Redis } from 'ioredis';
import { EVENT_SCHEMA_VERSION, type AgentEventBody } from '../domain/events.js';
import { STREAM_MAXLEN } from '../domain/agent-contract.js';
import type { Keys } from '../domain/keys.js';
import type { Usage } from './router.js';

export class JobLedger {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  private async publish(jobId: string, body: AgentEventBody): Promise<void> {
    const event = { v: EVENT_SCHEMA_VERSION, jobId, seq: 0, ts: Date.now(), ...body };
    await this.redis.xadd(this.keys.jobEvents(jobId), 'MAXLEN', '~', STREAM_MAXLEN, '*', 'e', JSON.stringify(event));
  }

  async usage(jobId: string, usage: Usage): Promise<void> {
    if (usage.promptTokens === 0 && usage.completionTokens === 0 && usage.gpuSeconds === 0) return;
    await this.publish(jobId, {
      type: 'usage',
      model: usage.model,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      gpuSeconds: Math.round(usage.gpuSeconds * 1000) / 1000,
    });
  }

  async waiting(jobId: string, position: number): Promise<void> {
    await this.publish(jobId, { type: 'waiting', for: 'gpu', position });
  }
}
