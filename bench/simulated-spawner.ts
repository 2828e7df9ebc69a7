// Agents that are not containers: a JobSpawner for the benches whose agents
// are simulated by other processes (bench/agent-simulator.ts) writing the
// events of many agents to Redis. start() hands the job id to the simulators
// through a Redis list; the agent "exits" when the dispatcher stops it.
import type { Redis } from 'ioredis';
import type { AgentExit, AgentHandle, AgentInfo, AgentSpec, JobSpawner } from '../src/spawners/spawner.js';

interface Simulated {
  handle: AgentHandle;
  exit: (e: AgentExit) => void;
}

export class SimulatedSpawner implements JobSpawner {
  readonly kind = 'docker' as const;
  private readonly agents = new Map<string, Simulated>();

  /** `startedList`: the Redis list the simulators take new jobs from. */
  constructor(
    private readonly redis: Redis,
    private readonly startedList: string,
  ) {}

  async start(spec: AgentSpec): Promise<AgentHandle> {
    const known = this.agents.get(spec.jobId);
    if (known) return { ...known.handle, adopted: true };
    let exit: (e: AgentExit) => void = () => undefined;
    const exited = new Promise<AgentExit>((resolve) => (exit = resolve));
    const handle: AgentHandle = { jobId: spec.jobId, ref: `simulated-${spec.jobId}`, adopted: false, exited };
    this.agents.set(spec.jobId, { handle, exit });
    await this.redis.rpush(this.startedList, JSON.stringify({ jobId: spec.jobId, channel: spec.channel, at: Date.now() }));
    return handle;
  }

  async attach(jobId: string): Promise<AgentHandle | undefined> {
    const known = this.agents.get(jobId);
    return known ? { ...known.handle, adopted: true } : undefined;
  }

  async stop(jobId: string): Promise<void> {
    this.agents.get(jobId)?.exit({ exitCode: 0, detail: 'simulated agent stopped' });
    this.agents.delete(jobId);
  }

  async ping(): Promise<void> {}

  async list(): Promise<AgentInfo[]> {
    return [];
  }

  async close(): Promise<void> {}
}
