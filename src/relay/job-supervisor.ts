// Runs one job from "queued" to its end: starts (or adopts) the agent, relays
// its events into the job record and the chat, and fails the job when the
// agent goes silent, overstays, or exits without a result. Everything it
// needs survives in Redis, so another replica can take over mid-job.
import type { Redis } from 'ioredis';
import { applyEvent, cancelJob, failJob, isFinished, type JobRecord } from '../domain/job.js';
import { isJobId } from '../domain/job-id.js';
import type { Keys } from '../domain/keys.js';
import { agentFor, type Catalogue, type Project } from '../domain/project.js';
import { mayDispatch } from '../domain/permissions.js';
import { workspaceUnderRootProblem } from '../domain/workspace-path.js';
import type { AgentCredentials } from '../state/agent-credentials.js';
import type { ChannelLock } from '../state/channel-lock.js';
import type { JobStore } from '../state/job-store.js';
import type { CancelRequest, JobControls } from '../state/job-controls.js';
import type { AgentExit, AgentHandle, JobSpawner } from '../spawners/spawner.js';
import { jobLogger, type Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { buildAgentSpec, type AgentSettings } from '../dispatch/agent-spec.js';
import { encodeJobSecret } from '../agent/job-secret.js';
import { EventReader, type StreamEntry } from './event-reader.js';
import type { JobNotifier } from './job-notifier.js';
import type { Conversation } from '../dispatch/conversation.js';
import type { WaitingJobs } from '../dispatch/waiting-jobs.js';
import { StatusThrottle } from './status-throttle.js';
import { announceResult } from './result-announcement.js';
import { userTextOf } from '../errors.js';
import { overBudget } from '../domain/budget.js';

export interface SupervisorTimings {
  /** How long one blocking read waits before the loop checks heartbeat, timeout and exit. */
  readBlockMs: number;
  /** How long an agent may take to send its first heartbeat. */
  startupGraceMs: number;
  /** Channel lock lease, renewed while the job runs. */
  lockLeaseMs: number;
  /** Minimum time between two updates of one job's status message. */
  statusIntervalMs: number;
  /** SIGTERM → SIGKILL grace when the dispatcher stops an agent. */
  stopGraceSeconds: number;
  /** How long to wait for the container to go after the final event. */
  exitWaitMs: number;
  /** After a cancel, how long the runner has to stop its command and report (its own grace is 10 s) before the spawner stops it. */
  cancelGraceMs: number;
  /** How often each replica looks for questions whose time to answer has passed. */
  questionCheckMs: number;
}

export const DEFAULT_TIMINGS: SupervisorTimings = {
  readBlockMs: 2000,
  startupGraceMs: 120_000,
  lockLeaseMs: 10 * 60_000,
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
  /** The clock for heartbeat grace, lock renewal and the job's time limit; default Date.now (tests move it forward). */
  now?: () => number;
  /** Inference (issue 9): a token per job for the agents' endpoint, revoked when the job ends. */
  inference?: JobInferenceAccess;
}

export interface JobInferenceAccess {
  issue(jobId: string, ttlSeconds: number): Promise<string>;
  /** The job ended: its token stops working and its requests in flight are cancelled, on every replica. */
  revoke(jobId: string): Promise<void>;
}

/** 'finished': the job ended and was announced; 'handed-over': shutdown, another replica continues. */
export type SupervisionResult = 'finished' | 'handed-over';

const READ_COUNT = 100;

/** A job that failed after a cancel request was cancelled, by whoever asked (the runner reports a cancel as a failure). */
function asCancelled(job: JobRecord, cancel: CancelRequest | undefined): JobRecord {
  if (!cancel || job.state !== 'failed') return job;
  return { ...job, state: 'cancelled', cancelledBy: cancel.by, reason: cancel.reason };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class JobSupervisor {
  private readonly t: SupervisorTimings;
  private readonly now: () => number;

  constructor(private readonly deps: SupervisorDeps) {
    this.t = { ...DEFAULT_TIMINGS, ...deps.timings };
    this.now = deps.now ?? Date.now;
  }

  async supervise(jobId: string, signal: AbortSignal): Promise<SupervisionResult> {
    const { store, logger } = this.deps;
    if (!isJobId(jobId)) {
      // The id came from a queue entry; it names no record, stream or container we could have made.
      logger.error({ jobId: String(jobId).slice(0, 40) }, 'queued job has an id Switchboard never makes: dropped');
      return 'finished';
    }
    let log = logger.child({ jobId });
    let job = await store.get(jobId);
    if (!job) {
      log.error('job record is missing (expired or never written): nothing to run');
      return 'finished';
    }
    log = jobLogger(logger, job); // with the Slack event id that asked for it, to the final message
    const throttle = this.statusThrottle(jobId, this.t.statusIntervalMs, log);
    if (isFinished(job)) return this.finish(job, throttle, undefined, log);

    const project = this.deps.catalogue().get(job.project);
    if (!project) {
      return this.finish(failJob(job, `project ${job.project} is no longer in the project catalogue`, this.now(), false), throttle, undefined, log);
    }
    if (job.state === 'queued') {
      // The catalogue may have changed since the job was accepted: it runs only if it would be accepted now.
      const refusal = this.refusalNow(job, project);
      if (refusal) return this.finish(failJob(job, refusal, Date.now(), false), throttle, undefined, log);
    }
    if (!(await this.holdChannel(job))) {
      return this.finish(failJob(job, 'another job took this channel while this one waited', this.now()), throttle, undefined, log);
    }
    if (project.workspace && !(await this.holdWorkspace(job, project.workspace))) {
      const holder = await this.deps.workspaceLock.holder(project.workspace);
      const reason = `the workspace of ${project.name} is in use by another job${holder ? ` (${holder})` : ''}, perhaps from another channel; ask again when it has finished`;
      return this.finish(failJob(job, reason, Date.now()), throttle, undefined, log);
    }

    const cancelledEarly = job.state === 'queued' ? await this.deps.controls.cancelRequest(jobId) : undefined;
    if (cancelledEarly) {
      // Cancelled while it waited, and a worker took it before the queue entry could be removed: never start it.
      return this.finish(cancelJob(job, cancelledEarly.by, this.now(), cancelledEarly.reason), throttle, undefined, log);
    }

    let handle: AgentHandle;
    try {
      if (job.state === 'queued') {
        job = { ...job, state: 'starting' };
        await store.save(job);
        throttle.offer(job);
        const credential = await this.deps.credentials.issue(jobId);
        const context = (await this.deps.notifier.describeRequest?.(job).catch((err: unknown) => {
          log.warn({ err }, 'could not resolve the thread link and names for the agent');
          return undefined;
        })) ?? {};
        // Valid past the job's own limit (the supervisor ends it then), revoked as soon as it ends.
        const inferenceToken = this.deps.inference ? await this.deps.inference.issue(jobId, project.timeoutMinutes * 60 + 3600) : undefined;
        const { spec, missingEnv, secret } = buildAgentSpec(job, project, this.deps.agent, credential, context, inferenceToken);
        if (missingEnv.length) log.warn({ missingEnv }, 'project env names not set on the dispatcher: not passed to the agent');
        if (project.tracker && project.tracker.type !== 'jira' && !secret.trackerToken) log.warn('no tracker token set on the dispatcher: the runner reads the issue anonymously and cannot push');
        // The runner takes it with GETDEL before the agent command starts; it never enters the container's env.
        if (secret.trackerToken) await this.deps.redis.set(this.deps.keys.jobSecret(jobId), encodeJobSecret(secret), 'PX', (project.timeoutMinutes + 5) * 60_000);
        handle = await this.deps.spawner.start(spec);
      } else {
        // Taking over from a replica that stopped: attach to its agent, never start a second one.
        handle = (await this.deps.spawner.attach(jobId)) ?? {
          jobId,
          ref: 'gone',
          adopted: true,
          exited: Promise.resolve({ exitCode: null, detail: 'the agent was already gone when this dispatcher took the job over' }),
        };
      }
    } catch (err) {
      log.error({ err }, 'could not start the agent');
      // Only an error's user text reaches chat; operator hints and host details stay in the log.
      const why = userTextOf(err, `internal error, ref \`${jobId}\``);
      return this.finish(failJob(job, `the agent could not be started: ${why}`, this.now()), throttle, undefined, log);
    }
    const took = handle.ref === 'gone' ? 'took over a job whose agent is already gone' : 'took over a running agent';
    log.info({ agent: handle.ref.slice(0, 12), adopted: handle.adopted }, handle.adopted ? took : 'agent started');

    let exit: AgentExit | undefined;
    void handle.exited.then((e) => (exit = e));
    const reader = new EventReader(this.deps.redis.duplicate(), this.deps.keys.jobEvents(jobId), job.cursor);
    const onAbort = () => reader.close();
    signal.addEventListener('abort', onAbort, { once: true });
    const spawnedAt = this.now();
    let sawHeartbeat = false;
    let lastRenewal = this.now();
    let cancel: CancelRequest | undefined;
    let cancelSeenAt = 0;

    try {
      while (!isFinished(job)) {
        if (signal.aborted) {
          throttle.cancel();
          log.info('shutting down: leaving the agent running for another replica');
          return 'handed-over';
        }
        const exitedBeforeRead = exit;
        let entries;
        try {
          entries = await reader.read(exitedBeforeRead ? 0 : this.t.readBlockMs, READ_COUNT);
        } catch (err) {
          if (signal.aborted) continue;
          log.warn({ err }, 'reading agent events failed; retrying');
          await sleep(1000);
          continue;
        }
        job = await this.applyEntries(job, entries, throttle, log);
        // A runner that was told to cancel reports a failure: it may arrive before this loop saw the request.
        if (job.state === 'failed' && !cancel) cancel = await this.deps.controls.cancelRequest(jobId);
        job = asCancelled(job, cancel);
        if (isFinished(job)) break;
        const overspent = overBudget(job, this.deps.catalogue().get(job.project)?.budget ?? project.budget);
        if (overspent) {
          job = failJob(job, overspent, this.now(), false);
          await this.stopAgent(jobId, log);
          break;
        }

        const now = this.now();
        if (!cancel) {
          cancel = await this.deps.controls.cancelRequest(jobId);
          if (cancel) {
            cancelSeenAt = now;
            log.info({ by: cancel.by }, 'cancel requested: the agent has its grace period to stop');
            // The status says so at once (and loses its Cancel button) while the agent stops.
            job = { ...job, cancelRequestedBy: cancel.by };
            await this.deps.store.save(job);
            throttle.offer(job);
          }
        } else if (now - cancelSeenAt > this.t.cancelGraceMs) {
          log.warn('the agent did not stop within its cancel grace: stopping it');
          await this.stopAgent(jobId, log);
          job = cancelJob(job, cancel.by, now, cancel.reason);
          break;
        }
        if (exitedBeforeRead && entries.length < READ_COUNT) {
          // The stream is drained and no result came: the agent died without a word.
          const code = exitedBeforeRead.exitCode === null ? 'an unknown code' : `code ${exitedBeforeRead.exitCode}`;
          cancel ??= await this.deps.controls.cancelRequest(jobId);
          job = cancel
            ? cancelJob(job, cancel.by, now, cancel.reason)
            : failJob(job, `the agent exited with ${code} without reporting a result${exitedBeforeRead.detail ? ` (${exitedBeforeRead.detail})` : ''}`, now);
          break;
        }
        const alive = (await this.deps.redis.exists(this.deps.keys.jobHeartbeat(jobId))) === 1;
        sawHeartbeat ||= alive;
        if (!alive && (sawHeartbeat || now - spawnedAt > this.t.startupGraceMs)) {
          // A runner that just finished deletes its heartbeat right after its last event: read once more first.
          const late = await reader.read(0, READ_COUNT);
          if (late.length) {
            job = await this.applyEntries(job, late, throttle, log);
            if (job.state === 'failed' && !cancel) cancel = await this.deps.controls.cancelRequest(jobId);
            job = asCancelled(job, cancel);
            continue;
          }
          // After a cancel request, an agent that goes quiet was cancelled, not broken.
          cancel ??= await this.deps.controls.cancelRequest(jobId);
          job = cancel ? cancelJob(job, cancel.by, now, cancel.reason) : failJob(job, sawHeartbeat ? 'the agent stopped sending heartbeats' : 'the agent never reported in', now);
          await this.stopAgent(jobId, log);
          break;
        }
        if (job.startedAt !== undefined && now - job.startedAt > project.timeoutMinutes * 60_000) {
          job = failJob(job, `the job ran longer than its ${project.timeoutMinutes}-minute limit`, now);
          await this.stopAgent(jobId, log);
          break;
        }
        if (now - lastRenewal > this.t.lockLeaseMs / 4) {
          lastRenewal = now;
          if (!(await this.deps.lock.renew(job.channel, job.id, this.t.lockLeaseMs))) log.warn('lost the channel lock while running');
          if (project.workspace && !(await this.deps.workspaceLock.renew(project.workspace, job.id, this.t.lockLeaseMs))) {
            log.warn('lost the workspace lock while running');
          }
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      reader.close();
    }
    return this.finish(job, throttle, handle, log);
  }

  /** Applies stream entries to the record (skipping malformed ones), saves it and offers it to the chat. */
  private async applyEntries(job: JobRecord, entries: StreamEntry[], throttle: StatusThrottle, log: Logger): Promise<JobRecord> {
    let next = job;
    for (const entry of entries) {
      if ('error' in entry) {
        this.deps.metrics?.agentEventsSkipped.inc();
        if (entry.oversized) this.deps.metrics?.agentEventsOversized.inc();
        log.warn({ streamId: entry.id, problem: entry.error }, 'skipped a malformed agent event');
      } else {
        next = applyEvent(next, entry.event);
        if (entry.event.type === 'question' && !isFinished(next)) await this.deps.questions?.ask(next, entry.event);
      }
      next = { ...next, cursor: entry.id };
    }
    if (next !== job) {
      await this.deps.store.save(next);
      if (!isFinished(next)) throttle.offer(next);
    }
    return next;
  }

  /** Saves, shows and announces the end, frees the channel, and sees the agent gone. */
  private async finish(job: JobRecord, throttle: StatusThrottle, handle: AgentHandle | undefined, log: Logger): Promise<'finished'> {
    await this.deps.store.save(job);
    // Its inference token goes first: requests in flight are cancelled, new ones get 401.
    await this.deps.inference?.revoke(job.id).catch((err: unknown) => log.error({ err }, 'could not revoke the job\'s inference token'));
    // Free the channel first: the result tells people they may ask again. A job waiting for it (`busy: queue`) gets it,
    // except that a workspace project's next job needs the workspace too: its channel passes on once that is free (below).
    const workspace = this.deps.catalogue().get(job.project)?.workspace;
    const { channels } = this.deps;
    const passChannelOn = () => (channels ? channels.release(job.channel, job.id) : this.deps.lock.release(job.channel, job.id));
    if (!workspace) await passChannelOn();
    else if (channels) await channels.freeIfNoneWaiting(job.channel, job.id);
    else await this.deps.lock.release(job.channel, job.id);
    // The result does not wait for the final status update (which may wait for chat.update's budget).
    await Promise.all([throttle.final(job), announceResult(job, { store: this.deps.store, notifier: this.deps.notifier, log })]);
    // Questions still open can no longer be answered: their messages say so.
    await this.deps.questions?.jobEnded(job).catch((err: unknown) => log.error({ err }, 'could not close the job’s open questions'));
    this.deps.metrics?.jobsFinished.inc({ state: job.state });
    log.info({ state: job.state, reason: job.reason }, `job ${job.state}`);
    if (handle) {
      let timer: NodeJS.Timeout | undefined;
      const gone = await Promise.race([
        handle.exited.then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.t.exitWaitMs))),
      ]);
      clearTimeout(timer);
      if (!gone) await this.stopAgent(job.id, log);
    }
    // Only once the agent is gone (it may still be tidying up with its own keys): its Redis user
    // goes with the job, however it ended, and its workspace is free for the next job.
    await this.deps.credentials.revoke(job.id).catch((err: unknown) => log.error({ err }, 'could not delete the agent\'s Redis user'));
    await this.deps.redis.del(this.deps.keys.jobSecret(job.id)).catch((err: unknown) => log.error({ err }, 'could not delete the job\'s secret'));
    if (workspace) {
      await this.deps.workspaceLock.release(workspace, job.id).catch((err: unknown) => log.error({ err }, 'could not release the workspace'));
      await passChannelOn();
    }
    return 'finished';
  }

  /** Ends a job that never got an agent (cancelled while it waited): saved, shown, announced, channel freed. */
  async finishWithoutAgent(job: JobRecord): Promise<void> {
    const log = jobLogger(this.deps.logger, job);
    await this.finish(job, this.statusThrottle(job.id, 0, log), undefined, log);
  }

  /** Ends a job that could not be supervised at all (its processing kept crashing). */
  async finishFailed(job: JobRecord): Promise<void> {
    const log = jobLogger(this.deps.logger, job);
    await this.finish(job, this.statusThrottle(job.id, 0, log), undefined, log);
    await this.stopAgent(job.id, log);
  }

  /** Status updates of one job, paced to its fair share of the chat budget when the notifier knows it. */
  private statusThrottle(jobId: string, baseMs: number, log: Logger): StatusThrottle {
    const { notifier } = this.deps;
    const pacer = notifier.statusPacer?.(jobId, baseMs);
    return new StatusThrottle((j, info) => notifier.updateStatus(j, info), pacer ? () => pacer.intervalMs() : baseMs, log, () => pacer?.close());
  }

  private async stopAgent(jobId: string, log: Logger): Promise<void> {
    await this.deps.spawner.stop(jobId, this.t.stopGraceSeconds).catch((err: unknown) => log.error({ err }, 'could not stop the agent'));
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

  /** Takes (or confirms) the workspace for this job; false when another job holds it. */
  private async holdWorkspace(job: JobRecord, workspace: string): Promise<boolean> {
    if (await this.deps.workspaceLock.renew(workspace, job.id, this.t.lockLeaseMs)) return true;
    return (await this.deps.workspaceLock.acquire(workspace, job.id, this.t.lockLeaseMs)).acquired;
  }

  /** Confirms this job still owns its channel, or takes it back if the lease lapsed while nobody held it. */
  private async holdChannel(job: JobRecord): Promise<boolean> {
    if (await this.deps.lock.renew(job.channel, job.id, this.t.lockLeaseMs)) return true;
    return (await this.deps.lock.acquire(job.channel, job.id, this.t.lockLeaseMs)).acquired;
  }
}
