// Runs one job from "queued" to its end, from the pieces next to it: it takes
// the job's supervision lease (so one replica at a time relays it), checks the
// job may still run, holds its channel (and workspace), gets it an agent
// (agent-launch), relays the agent's events (relay-loop) and ends it
// (job-finisher). Everything it needs survives in Redis, so another replica
// can take over mid-job; the replica's lease keeper renews every lease it holds.
import { internalError } from '../../domain/text.js';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { cancelJob, failJob, isFinished, type JobRecord } from '../../domain/job.js';
import { isJobId } from '../../domain/job-id.js';
import type { Keys } from '../../domain/keys.js';
import { agentFor, type Catalogue, type Project } from '../../domain/project.js';
import { mayDispatch } from '../../domain/permissions.js';
import { workspaceUnderRootProblem } from '../../domain/workspace-path.js';
import type { AgentCredentials } from '../../state/agent-credentials.js';
import type { ChannelLock } from '../../state/channel-lock.js';
import type { JobStore } from '../../state/job-store.js';
import type { JobControls } from '../../state/job-controls.js';
import { LeaseKeeper, type HeldLease } from '../../state/lease-keeper.js';
import type { AgentHandle, JobSpawner } from '../../spawners/spawner.js';
import { jobLogger, type Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { AgentSettings } from './agent-spec.js';
import type { Conversation } from '../conversation.js';
import type { WaitingJobs } from '../waiting-jobs.js';
import { userTextOf } from '../../errors.js';
import type { JobNotifier } from '../ports.js';
import type { StatusThrottle } from './status-throttle.js';
import { AgentLaunch } from './agent-launch.js';
import { JobFinisher } from './job-finisher.js';
import { RelayLoop, type RelayTimings } from './relay-loop.js';

export interface SupervisorTimings extends RelayTimings {
  /** Channel (and workspace) lock lease, renewed by the lease keeper while the job runs or waits. */
  lockLeaseMs: number;
  /**
   * How soon a dead replica's jobs are taken over: the supervision lease and
   * BullMQ's job lock last this long, and are renewed every quarter of it.
   */
  takeoverLeaseMs: number;
  /** How often BullMQ looks for jobs whose lock lapsed (a replica died): takeover ≤ takeoverLeaseMs + 2 × this. */
  stalledCheckMs: number;
  /** How often the reconciler runs (on one replica at a time). */
  reconcileEveryMs: number;
  /** Minimum time between two updates of one job's status message. */
  statusIntervalMs: number;
  /** SIGTERM → SIGKILL grace when the dispatcher stops an agent. */
  stopGraceSeconds: number;
  /** How long to wait for the container to go after the final event. */
  exitWaitMs: number;
  /** How often each replica looks for questions whose time to answer has passed. */
  questionCheckMs: number;
}

export const DEFAULT_TIMINGS: SupervisorTimings = {
  readBlockMs: 2000,
  startupGraceMs: 120_000,
  lapseAfterMs: 20_000,
  lockLeaseMs: 10 * 60_000,
  takeoverLeaseMs: 8000,
  stalledCheckMs: 2000,
  reconcileEveryMs: 15_000,
  statusIntervalMs: 3000,
  stopGraceSeconds: 10,
  exitWaitMs: 30_000,
  cancelGraceMs: 15_000,
  questionCheckMs: 1000,
};

export interface SupervisorDeps {
  redis: Redis;
  keys: Keys;
  store: JobStore;
  lock: ChannelLock;
  /** Cancel requests (any replica may take one; the supervising one acts on it). */
  controls: JobControls;
  /** One job at a time per workspace, across channels. */
  workspaceLock: ChannelLock;
  /** The per-job Redis users agents connect with. */
  credentials: AgentCredentials;
  spawner: JobSpawner;
  notifier: JobNotifier;
  /** Frees a job's channel, or passes it to the next job waiting for it (`busy: queue`); default: the lock is just released. */
  channels?: Pick<WaitingJobs, 'release' | 'freeIfNoneWaiting'>;
  /** Shows the agent's questions in the thread, and closes them when the job ends. */
  questions?: Pick<Conversation, 'ask' | 'jobEnded'>;
  catalogue: () => Catalogue;
  agent: AgentSettings;
  logger: Logger;
  metrics?: Metrics;
  timings?: Partial<SupervisorTimings>;
  /** The clock for heartbeat grace and the job's time limit; default Date.now (tests move it forward). */
  now?: () => number;
  /** Inference (issue 9): a token per job for the agents' endpoint, revoked when the job ends. */
  inference?: JobInferenceAccess;
  /** The replica's lease keeper; default: one of the supervisor's own. */
  leases?: LeaseKeeper;
  /** This replica's name in supervision leases; default: host and pid. */
  replicaId?: string;
}

export interface JobInferenceAccess {
  issue(jobId: string, ttlSeconds: number): Promise<string>;
  /** The job ended: its token stops working and its requests in flight are cancelled, on every replica. */
  revoke(jobId: string): Promise<void>;
}

/**
 * 'finished': the job ended and was announced; 'handed-over': shutdown, another replica continues;
 * 'elsewhere': another replica relays it (its supervision lease is held): try again later.
 */
export type SupervisionResult = 'finished' | 'handed-over' | 'elsewhere';

export class JobSupervisor {
  private readonly t: SupervisorTimings;
  private readonly now: () => number;
  private readonly leases: LeaseKeeper;
  private readonly replicaId: string;
  private readonly launcher: AgentLaunch;
  private readonly finisher: JobFinisher;
  private readonly relay: RelayLoop;

  constructor(private readonly deps: SupervisorDeps) {
    this.t = { ...DEFAULT_TIMINGS, ...deps.timings };
    this.now = deps.now ?? Date.now;
    this.replicaId = deps.replicaId ?? `${process.env.HOSTNAME ?? 'replica'}:${process.pid}`;
    if (deps.leases) this.leases = deps.leases;
    else {
      this.leases = new LeaseKeeper({ redis: deps.redis, logger: deps.logger });
      this.leases.start();
    }
    this.launcher = new AgentLaunch(deps);
    this.finisher = new JobFinisher({ ...deps, stopGraceSeconds: this.t.stopGraceSeconds, exitWaitMs: this.t.exitWaitMs });
    this.relay = new RelayLoop({ ...deps, timings: this.t, now: this.now, stopAgent: (id, log) => this.finisher.stopAgent(id, log) });
  }

  async supervise(jobId: string, signal: AbortSignal): Promise<SupervisionResult> {
    const { store, logger } = this.deps;
    if (!isJobId(jobId)) {
      // The id came from a queue entry; it names no record, stream or container we could have made.
      logger.error({ jobId: String(jobId).slice(0, 40) }, 'queued job has an id Switchboard never makes: dropped');
      return 'finished';
    }
    const log = logger.child({ jobId });
    if (!(await store.get(jobId))) {
      log.error('job record is missing (expired or never written): nothing to run');
      return 'finished';
    }
    const lost = new AbortController();
    const supervision = await this.takeSupervision(jobId, lost, signal, log);
    if (!supervision) return signal.aborted ? 'handed-over' : 'elsewhere';
    const held: HeldLease[] = [];
    try {
      const result = await this.superviseHeld(jobId, AbortSignal.any([signal, lost.signal]), held, log);
      if (result === 'handed-over' && lost.signal.aborted) return 'elsewhere';
      return result;
    } finally {
      for (const lease of held) lease.stop();
      await supervision
        .release()
        .catch((err: unknown) => log.warn({ err }, 'could not give up the supervision lease; it lapses on its own'));
    }
  }

  /** The job's run once this replica holds its supervision lease; leases it takes are pushed on `held`. */
  private async superviseHeld(jobId: string, signal: AbortSignal, held: HeldLease[], log: Logger): Promise<SupervisionResult> {
    // Read again under the lease: the replica before may have changed it up to its last moment.
    const job = await this.deps.store.get(jobId);
    if (!job) return 'finished';
    log = jobLogger(this.deps.logger, job); // with the Slack event id that asked for it, to the final message
    const throttle = this.finisher.statusThrottle(jobId, this.t.statusIntervalMs, log);
    const end = (j: JobRecord, handle?: AgentHandle) => this.endHeld(j, throttle, handle, held, log);
    if (isFinished(job)) return end(job);

    const project = this.deps.catalogue().get(job.project);
    if (!project) return end(failJob(job, `project ${job.project} is no longer in the project catalogue`, this.now(), false));
    if (job.state === 'queued') {
      // The catalogue may have changed since the job was accepted: it runs only if it would be accepted now.
      const refusal = this.refusalNow(job, project);
      if (refusal) return end(failJob(job, refusal, Date.now(), false));
    }
    if (!(await this.holdLock(this.deps.lock, 'channel', job.channel, job.id, held, log))) {
      return end(failJob(job, 'another job took this channel while this one waited', this.now()));
    }
    if (project.workspace && !(await this.holdLock(this.deps.workspaceLock, 'workspace', project.workspace, job.id, held, log))) {
      const holder = await this.deps.workspaceLock.holder(project.workspace);
      const reason = `the workspace of ${project.name} is in use by another job${holder ? ` (${holder})` : ''}, perhaps from another channel; ask again when it has finished`;
      return end(failJob(job, reason, Date.now()));
    }

    const cancelledEarly = job.state === 'queued' ? await this.deps.controls.cancelRequest(jobId) : undefined;
    if (cancelledEarly) {
      // Cancelled while it waited, and a worker took it before the queue entry could be removed: never start it.
      return end(cancelJob(job, cancelledEarly.by, this.now(), cancelledEarly.reason));
    }

    let launched;
    try {
      launched = await this.launcher.launch(job, project, throttle, log);
    } catch (err) {
      log.error({ err }, 'could not start the agent');
      // Only an error's user text reaches chat; operator hints and host details stay in the log.
      const why = userTextOf(err, internalError(jobId));
      return end(failJob(job, `the agent could not be started: ${why}`, this.now()));
    }
    const outcome = await this.relay.run({ ...launched, project, throttle, log, signal });
    if (outcome === 'handed-over') return 'handed-over';
    return end(outcome.ended, launched.handle);
  }

  /** Stops renewing the job's locks (the finisher frees them) and ends the job. */
  private async endHeld(
    job: JobRecord,
    throttle: StatusThrottle,
    handle: AgentHandle | undefined,
    held: HeldLease[],
    log: Logger,
  ): Promise<'finished'> {
    for (const lease of held.splice(0)) lease.stop();
    return this.finisher.finish(job, throttle, handle, log);
  }

  /**
   * Takes the job's supervision lease. A replica that died leaves it to lapse
   * (within takeoverLeaseMs): wait that long; a live holder keeps it, and the
   * job is left to it.
   */
  private async takeSupervision(jobId: string, lost: AbortController, signal: AbortSignal, log: Logger): Promise<HeldLease | undefined> {
    const lease = {
      kind: 'supervision',
      key: this.deps.keys.jobSupervisor(jobId),
      // One owner per supervision, not per replica: a job this replica lets go of and takes again is never held twice.
      owner: `${this.replicaId}:${randomBytes(3).toString('hex')}`,
      leaseMs: this.t.takeoverLeaseMs,
      onLost: () => lost.abort(),
    };
    const deadline = Date.now() + this.t.takeoverLeaseMs + 1000;
    for (;;) {
      const held = await this.leases.acquire(lease);
      if (held) return held;
      if (signal.aborted || Date.now() > deadline) {
        log.info(
          { holder: await this.deps.redis.get(lease.key).catch(() => undefined) },
          'another replica supervises this job: left to it',
        );
        return undefined;
      }
      await new Promise((r) => setTimeout(r, Math.min(500, this.t.takeoverLeaseMs / 4)));
    }
  }

  /** Ends a job that never got an agent (cancelled while it waited): saved, shown, announced, channel freed. */
  async finishWithoutAgent(job: JobRecord): Promise<void> {
    const log = jobLogger(this.deps.logger, job);
    await this.finisher.finish(job, this.finisher.statusThrottle(job.id, 0, log), undefined, log);
  }

  /** Ends a job that could not be supervised at all (its processing kept crashing), or that a reconciler ended. */
  async finishFailed(job: JobRecord): Promise<void> {
    const log = jobLogger(this.deps.logger, job);
    await this.finisher.finish(job, this.finisher.statusThrottle(job.id, 0, log), undefined, log);
    await this.finisher.stopAgent(job.id, log);
  }

  /** Why the current catalogue would not run this job now, or undefined when it may run. */
  private refusalNow(job: JobRecord, project: Project): string | undefined {
    const allowed = mayDispatch(project, job.channel, job.user, { external: job.external === true });
    if (!allowed.ok) return `the project catalogue changed after this job was accepted, and it may no longer run: ${allowed.reason}`;
    if (job.agent !== undefined && !agentFor(project, job.agent)) {
      return `the project catalogue changed after this job was accepted: ${project.name} has no agent called ${job.agent} any more`;
    }
    if (project.workspace) {
      const problem = workspaceUnderRootProblem(project.workspace, this.deps.agent.workspaceRoot);
      if (problem) return `the workspace of ${project.name} cannot be used: it ${problem}. Ask whoever runs Switchboard.`;
    }
    return undefined;
  }

  /**
   * Confirms this job still owns its channel (or workspace), or takes it back if the lease lapsed while nobody
   * held it; then the lease keeper renews it. False when another job holds it.
   */
  private async holdLock(lock: ChannelLock, kind: string, id: string, jobId: string, held: HeldLease[], log: Logger): Promise<boolean> {
    const ours = (await lock.renew(id, jobId, this.t.lockLeaseMs)) || (await lock.acquire(id, jobId, this.t.lockLeaseMs)).acquired;
    if (!ours) return false;
    held.push(
      this.leases.hold({
        kind,
        key: lock.keyFor(id),
        owner: jobId,
        leaseMs: this.t.lockLeaseMs,
        // Only a lapse (a replica stuck for a whole lease) loses it; the job runs on, as before a lock existed.
        onLost: () => log.warn({ kind }, `lost the ${kind} lock while running`),
      }),
    );
    return true;
  }
}
