// Gets a job its agent: starts one for a queued job (with its per-job Redis
// user, secret and inference token), or attaches to the one already running
// when a replica takes a job over. Never starts a second agent for a job.
import type { Redis } from 'ioredis';
import type { JobRecord } from '../../domain/job.js';
import type { Keys } from '../../domain/keys.js';
import type { Project } from '../../domain/project.js';
import type { AgentCredentials } from '../../state/agent-credentials.js';
import type { JobStore } from '../../state/job-store.js';
import type { AgentHandle, JobSpawner } from '../../spawners/spawner.js';
import type { Logger } from '../../observability/logger.js';
import { buildAgentSpec, type AgentSettings } from './agent-spec.js';
import { encodeJobSecret } from '../../domain/job-secret.js';
import type { JobNotifier } from '../ports.js';
import type { StatusThrottle } from './status-throttle.js';

export interface AgentLaunchDeps {
  redis: Redis;
  keys: Keys;
  store: JobStore;
  credentials: AgentCredentials;
  spawner: JobSpawner;
  notifier: Pick<JobNotifier, 'describeRequest'>;
  agent: AgentSettings;
  inference?: { issue(jobId: string, ttlSeconds: number): Promise<string> };
}

export interface Launched {
  job: JobRecord;
  handle: AgentHandle;
}

/** An agent handle for a job whose agent was gone before anyone attached to it. */
export const goneAgent = (jobId: string): AgentHandle => ({
  jobId,
  ref: 'gone',
  adopted: true,
  exited: Promise.resolve({ exitCode: null, detail: 'the agent was already gone when this dispatcher took the job over' }),
});

export class AgentLaunch {
  constructor(private readonly deps: AgentLaunchDeps) {}

  /** Starts the agent of a queued job, or attaches to the running one; throws when it cannot be started. */
  async launch(job: JobRecord, project: Project, throttle: StatusThrottle, log: Logger): Promise<Launched> {
    if (job.state !== 'queued') {
      // Taking over from a replica that stopped: attach to its agent, never start a second one.
      const handle = (await this.deps.spawner.attach(job.id)) ?? goneAgent(job.id);
      log.info(
        { agent: handle.ref.slice(0, 12) },
        handle.ref === 'gone' ? 'took over a job whose agent is already gone' : 'took over a running agent',
      );
      return { job, handle };
    }
    const d = this.deps;
    const starting: JobRecord = { ...job, state: 'starting' };
    await d.store.save(starting);
    throttle.offer(starting);
    // The agent's Redis user, the names and link it is told, and its inference token do not depend on each other:
    // asked for at once, they cost one round trip instead of three before the container is created.
    const [credential, context, inferenceToken] = await Promise.all([
      d.credentials.issue(job.id),
      d.notifier.describeRequest?.(starting).catch((err: unknown) => {
        log.warn({ err }, 'could not resolve the thread link and names for the agent');
        return undefined;
      }),
      // Valid past the job's own limit (the supervisor ends it then), revoked as soon as it ends.
      d.inference?.issue(job.id, project.timeoutMinutes * 60 + 3600),
    ]);
    const { spec, missingEnv, secret } = buildAgentSpec(starting, project, d.agent, credential, context ?? {}, inferenceToken);
    if (missingEnv.length) log.warn({ missingEnv }, 'project env names not set on the dispatcher: not passed to the agent');
    if (project.tracker && project.tracker.type !== 'jira' && !secret.trackerToken)
      log.warn('no tracker token set on the dispatcher: the runner reads the issue anonymously and cannot push');
    // The runner takes it with GETDEL before the agent command starts; it never enters the container's env.
    if (secret.trackerToken)
      await d.redis.set(d.keys.jobSecret(job.id), encodeJobSecret(secret), 'PX', (project.timeoutMinutes + 5) * 60_000);
    const handle = await d.spawner.start(spec);
    log.info({ agent: handle.ref.slice(0, 12), adopted: handle.adopted }, handle.adopted ? 'took over a running agent' : 'agent started');
    return { job: starting, handle };
  }
}
