// The spawner port: how a job's agent gets a place to run. Docker and
// Kubernetes implement it; the dispatcher knows nothing else about them.

export interface AgentSpec {
  jobId: string;
  project: string;
  channel: string;
  user: string;
  /** The original request, passed as the runner's last argument. */
  request: string;
  image: string;
  /** Redis URL as seen from inside the agent. */
  redisUrl: string;
  redisPrefix: string;
  /** Everything the runner reads from its environment (contract env + project settings). */
  env: Record<string, string>;
  /** Host path bind-mounted as /workspace (docker only). */
  workspace?: string;
  resources: { cpus: number; memoryBytes: number };
  /** The project's time limit; Kubernetes turns it into activeDeadlineSeconds. */
  timeoutSeconds?: number;
}

/** One agent the backend knows of, found by Switchboard's labels (for a reconciler). */
export interface AgentInfo {
  jobId: string;
  /** Container id or Job name. */
  ref: string;
  project: string;
  channel: string;
  /** False once the agent has exited (a finished Job or a stopped container not yet removed). */
  running: boolean;
}

export interface AgentExit {
  /** null when the exit code could not be learned (the agent was already gone). */
  exitCode: number | null;
  detail?: string;
}

export interface AgentHandle {
  jobId: string;
  /** Container id or Job name, for logs. */
  ref: string;
  /** True when the agent was already running (a replica took over the job). */
  adopted: boolean;
  /**
   * Resolves once the agent has stopped, whatever the reason, and only then:
   * a lost connection to the backend (an engine restart, a dropped watch) is
   * followed up until the backend says how the agent is, never taken for an
   * exit. Stays pending after close().
   */
  exited: Promise<AgentExit>;
}

export interface JobSpawner {
  readonly kind: 'docker' | 'kubernetes';
  /**
   * Starts the agent for a job, or adopts it if one already exists for that
   * job id: calling it twice never runs a job twice. While the backend does
   * not answer it keeps trying for a short while (tens of seconds), then fails
   * with a readable reason.
   */
  start(spec: AgentSpec): Promise<AgentHandle>;
  /**
   * The agent of a job that was started before (a replica taking over), or
   * undefined when it is gone. Never starts a new one.
   */
  attach(jobId: string): Promise<AgentHandle | undefined>;
  /** Stops a job's agent: SIGTERM, then a kill after the grace period. Missing agents are fine. */
  stop(jobId: string, graceSeconds: number): Promise<void>;
  /** Throws with a readable reason when the backend cannot be reached. */
  ping(): Promise<void>;
  /** Every agent carrying `app.kubernetes.io/managed-by=switchboard`. */
  list(): Promise<AgentInfo[]>;
  /** Releases watches and connections; agents keep running. */
  close(): Promise<void>;
}

/** The labels every agent carries and the runner's arguments (DESIGN §5, src/domain/agent-contract.ts). */
export { agentLabels, agentArgs } from '../domain/agent-contract.js';
