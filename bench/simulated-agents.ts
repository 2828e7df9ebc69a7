// Many agents in one process: takes the jobs a dispatcher "started" with the
// SimulatedSpawner (a Redis list), keeps their heartbeats alive and writes
// their events to their streams as the runner does (one JSON document in the
// field `e`, XADD MAXLEN ~ 1000). Used by the relay bench (in the bench
// process) and the scale bench (a few agent-simulator-process.ts children).
import type { Redis } from 'ioredis';
import { EVENT_SCHEMA_VERSION, type AgentEventBody } from '../src/domain/events.js';
import { HEARTBEAT_EVERY_MS, HEARTBEAT_TTL_MS, STREAM_MAXLEN } from '../src/domain/agent-contract.js';
import { keys as makeKeys, type Keys } from '../src/domain/keys.js';

export interface SimulatedJob {
  jobId: string;
  channel: string;
  seq: number;
}

export class SimulatedAgents {
  readonly jobs = new Map<string, SimulatedJob>();
  /** Events written so far. */
  written = 0;
  private readonly keys: Keys;
  private heartbeat?: NodeJS.Timeout;
  private taking = true;

  /**
   * `redis`: for events and heartbeats; `taker`: a connection of its own for
   * the blocking pop from `startedList`.
   */
  constructor(
    private readonly redis: Redis,
    private readonly taker: Redis,
    prefix: string,
    private readonly startedList: string,
  ) {
    this.keys = makeKeys(prefix);
  }

  /** Takes started jobs as they come (until close), each greeted with a `started` event. */
  async takeJobs(onJob?: (job: SimulatedJob) => void): Promise<void> {
    this.heartbeat ??= setInterval(() => void this.beat(), HEARTBEAT_EVERY_MS);
    while (this.taking) {
      const popped = await this.taker.blpop(this.startedList, 1).catch(() => null);
      if (!popped) continue;
      const { jobId, channel } = JSON.parse(popped[1]) as { jobId: string; channel: string };
      const job = { jobId, channel, seq: 0 };
      this.jobs.set(jobId, job);
      await this.redis.set(this.keys.jobHeartbeat(jobId), String(Date.now()), 'PX', HEARTBEAT_TTL_MS);
      await this.emit(job, { type: 'started', project: 'demo', ref: 'main', image: 'simulated', host: 'simulator' });
      onJob?.(job);
    }
  }

  /** Writes one event of `job`; resolves when Redis has it. */
  async emit(job: SimulatedJob, body: AgentEventBody): Promise<void> {
    const doc = { ...body, v: EVENT_SCHEMA_VERSION, jobId: job.jobId, seq: job.seq++, ts: Date.now() };
    await this.redis.xadd(this.keys.jobEvents(job.jobId), 'MAXLEN', '~', STREAM_MAXLEN, '*', 'e', JSON.stringify(doc));
    this.written++;
  }

  private async beat(): Promise<void> {
    const p = this.redis.pipeline();
    for (const id of this.jobs.keys()) p.set(this.keys.jobHeartbeat(id), String(Date.now()), 'PX', HEARTBEAT_TTL_MS);
    await p.exec().catch(() => undefined);
  }

  /** The agent ends: its heartbeat goes, as the runner's does. */
  async finish(job: SimulatedJob, body: AgentEventBody): Promise<void> {
    await this.emit(job, body);
    this.jobs.delete(job.jobId);
    await this.redis.del(this.keys.jobHeartbeat(job.jobId));
  }

  close(): void {
    this.taking = false;
    clearInterval(this.heartbeat);
    this.taker.disconnect();
  }
}

/** A plausible event of a running agent: mostly log lines, some progress, a little usage. */
export function plausibleEvent(rand: () => number, step: number): AgentEventBody {
  const r = rand();
  if (r < 0.8) return { type: 'log', level: 'info', text: `npm test -- src/billing/invoice.test.ts: ${Math.floor(rand() * 200)} passed` };
  if (r < 0.95) return { type: 'progress', step: Math.min(7, step), total: 7, name: 'test', text: 'running the tests' };
  return { type: 'usage', model: 'claude-sonnet', promptTokens: Math.floor(rand() * 5000), completionTokens: Math.floor(rand() * 800) };
}
