// The reconciler: what a crash, a lost queue entry or a lost Redis write can
// leave behind, found and put right. It runs on start and then every
// reconcileEveryMs, on one replica at a time (a lease the lease keeper
// renews). Each pass compares three views — job records, the spawner's agents
// (by label), and who supervises what (supervision leases, the queue):
//   - a job no replica supervises and the queue no longer has: its agent is
//     adopted (queued again, a supervisor attaches), or, when it is gone, has
//     lapsed or is past its time limit, the job is failed, the user told in
//     its thread and the channel freed (the shared liveness verdict decides);
//   - a running agent whose job has ended, or that this Switchboard made (its
//     Redis user or event stream is here) but has no record of: stopped, with its
//     per-job Redis user and secret (agents of another Switchboard sharing
//     the engine are never touched);
//   - a per-job Redis user nobody needs any more: deleted;
//   - a channel lock held by a job that has ended or is unknown: freed.
// Anything destructive is done only when two passes in a row found it, so a
// job being started or finished at that moment is never mistaken for debris.
// Over 350 lines: one pass and its checks, a few lines each, sharing the pass's view of agents and records.
import type { Redis } from 'ioredis';
import { applyEvent, failJob, isFinished, type JobRecord } from '../../domain/job.js';
import { isJobId } from '../../domain/job-id.js';
import type { Keys } from '../../domain/keys.js';
import type { Catalogue } from '../../domain/project.js';
import { JOB_INDEX_SIZE, type JobStore } from '../../state/job-store.js';
import type { AgentCredentials } from '../../state/agent-credentials.js';
import { isRedisUnavailable } from '../../errors.js';
import type { HeldLease, LeaseKeeper } from '../../state/lease-keeper.js';
import type { AgentExit, AgentInfo, JobSpawner } from '../../spawners/spawner.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { QueuedJobData } from '../job-queue.js';
import { EventReader } from './event-reader.js';
import { endReason, liveness, NO_HEARTBEAT_YET, observeHeartbeat, type HeartbeatTrack } from './liveness.js';

export type ReconcilerAction =
  'adopt' | 'fail-gone' | 'fail-lapsed' | 'fail-overdue' | 'finish-from-stream' | 'remove-orphan' | 'revoke-credentials' | 'free-channel';

export interface ReconcilerTimings {
  reconcileEveryMs: number;
  startupGraceMs: number;
  lapseAfterMs: number;
  stopGraceSeconds: number;
}

export interface ReconcilerDeps {
  redis: Redis;
  keys: Keys;
  store: JobStore;
  spawner: JobSpawner;
  credentials: AgentCredentials;
  leases: LeaseKeeper;
  replicaId: string;
  queue: {
    /** BullMQ's state of the job, undefined when the queue does not have it. */
    stateOf(jobId: string): Promise<string | undefined>;
    /** Puts a job (back) in the queue, replacing an entry that has completed or failed. */
    requeue(data: QueuedJobData, projectPriority: number): Promise<void>;
  };
  /** Ends a job the reconciler failed: saved, told, channel freed, agent stopped (JobSupervisor.finishFailed). */
  finishFailed(job: JobRecord): Promise<void>;
  /** Frees a channel whose holder has ended, or passes it to the next job waiting for it. */
  freeChannel(channel: string, holder: string): Promise<void>;
  catalogue: () => Catalogue;
  logger: Logger;
  metrics?: Metrics;
  timings: ReconcilerTimings;
  now?: () => number;
}

/** Queue states in which a job will be (or is being) run by a worker: the queue sees to it, not the reconciler. */
const QUEUE_HAS_IT = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children', 'paused']);

export class Reconciler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lease?: HeldLease;
  private closed = false;
  /** Findings of the last pass (what → times found in a row), for the two-pass rule. */
  private suspects = new Map<string, number>();
  /** Heartbeats of unsupervised jobs, across passes. */
  private heartbeats = new Map<string, HeartbeatTrack>();
  private readonly now: () => number;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** A pass now, then one every reconcileEveryMs, each on whichever replica holds the lease. */
  start(): void {
    const tick = () => {
      if (this.closed || this.running) return;
      this.running = this.passIfLeader()
        .then(() => undefined)
        .catch((err: unknown) =>
          // An outage is said once by the connection itself (state/redis.ts), not by every pass.
          isRedisUnavailable(err)
            ? this.deps.logger.debug({ err }, 'reconciler: Redis unreachable; the next pass tries again')
            : this.deps.logger.warn({ err }, 'a reconciler pass failed; the next one tries again'),
        )
        .finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.deps.timings.reconcileEveryMs);
    this.timer.unref();
  }

  /**
   * Stops the passes. A pass in progress is not waited for (during a Redis outage it may hang until the
   * connection closes, and a shutdown must not wait on it): it stops at its next step.
   */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    const lease = this.lease;
    this.lease = undefined;
    // Given up at once when Redis answers, so another replica's reconciler need not wait for it to lapse.
    void (this.running ?? Promise.resolve()).then(() => lease?.release()).catch(() => undefined);
  }

  /** One pass if this replica holds (or can take) the reconciler's lease. */
  async passIfLeader(): Promise<boolean> {
    if (!this.lease?.held) {
      this.lease = await this.deps.leases.acquire({
        kind: 'reconciler',
        key: this.deps.keys.reconcilerLease,
        owner: this.deps.replicaId,
        leaseMs: Math.max(3 * this.deps.timings.reconcileEveryMs, 5000),
      });
      if (!this.lease) {
        // Another replica reconciles; what this one learned would be stale when the lease comes back.
        this.suspects.clear();
        this.heartbeats.clear();
        return false;
      }
    }
    await this.pass();
    return true;
  }

  /** One reconciliation pass (the lease is the caller's business). */
  async pass(): Promise<void> {
    const found = new Map<string, number>();
    /** True when `what` was found in the previous pass as well (and is found again now). */
    const confirmed = (what: string) => {
      const times = (this.suspects.get(what) ?? 0) + 1;
      found.set(what, times);
      return times >= 2;
    };
    let agents: Map<string, AgentInfo> | undefined;
    try {
      agents = new Map((await this.deps.spawner.list()).map((a) => [a.jobId, a]));
    } catch (err) {
      // Without the spawner's view nothing about agents can be decided: leave them for a later pass.
      this.deps.logger.warn({ err }, 'reconciler: the spawner cannot list agents; agents are looked at next time');
    }
    const records = new Map<string, JobRecord>();
    for (const job of await this.deps.store.recent(JOB_INDEX_SIZE)) records.set(job.id, job);
    for (const id of agents?.keys() ?? []) {
      if (!records.has(id) && isJobId(id)) {
        const job = await this.deps.store.get(id);
        if (job) records.set(id, job);
      }
    }

    for (const job of records.values()) {
      if (this.closed) return;
      if (job.state !== 'starting' && job.state !== 'running') continue;
      if (agents === undefined) continue;
      if (await this.supervised(job.id)) continue;
      if (QUEUE_HAS_IT.has((await this.deps.queue.stateOf(job.id)) ?? 'missing')) continue;
      await this.unsupervised(job, agents.get(job.id), confirmed);
    }
    for (const agent of agents?.values() ?? []) {
      if (this.closed) return;
      // A stopped one is left to go by itself (AutoRemove, a Job's TTL), with its logs for whoever looks.
      if (!agent.running) continue;
      const job = records.get(agent.jobId);
      if (job && !isFinished(job)) continue;
      // Another Switchboard (another REDIS_PREFIX) may share the engine or namespace: only agents this one made are touched.
      if (!job && !(await this.madeHere(agent.jobId))) continue;
      if (await this.supervised(agent.jobId)) continue; // its supervisor is still seeing it off
      if (confirmed(`orphan:${agent.jobId}`)) await this.removeOrphan(agent, job);
    }
    if (this.closed) return;
    if (agents) await this.revokeUnusedUsers(records, agents, confirmed);
    if (this.closed) return;
    await this.freeStaleChannels(records, confirmed);

    this.suspects = found;
    for (const id of this.heartbeats.keys()) if (!found.has(`unsupervised:${id}`)) this.heartbeats.delete(id);
  }

  /** A running job nobody relays and the queue no longer has: adopt it, or end it on the liveness verdict. */
  private async unsupervised(job: JobRecord, agent: AgentInfo | undefined, confirmed: (what: string) => boolean): Promise<void> {
    const log = this.deps.logger.child({ jobId: job.id, reconciler: true });
    const now = this.now();
    const exit: AgentExit | undefined = !agent
      ? { exitCode: null, detail: 'its agent was gone' }
      : agent.running
        ? undefined
        : { exitCode: null, detail: 'its agent had stopped' };
    let reading: 'present' | 'absent' | 'unknown' = 'unknown';
    try {
      reading = (await this.deps.redis.exists(this.deps.keys.jobHeartbeat(job.id))) === 1 ? 'present' : 'absent';
    } catch (err) {
      log.warn({ err }, 'reconciler: could not read a heartbeat');
    }
    const heartbeat = observeHeartbeat(this.heartbeats.get(job.id) ?? NO_HEARTBEAT_YET, reading, now);
    this.heartbeats.set(job.id, heartbeat);
    if (!confirmed(`unsupervised:${job.id}`)) return; // a supervisor may be just about to take it
    const project = this.deps.catalogue().get(job.project);
    const timeoutMinutes = project?.timeoutMinutes ?? 60;
    const verdict = liveness({
      now,
      heartbeat,
      exit,
      reportedIn: job.state === 'running',
      startedAt: job.startedAt,
      startGraceMs: this.deps.timings.startupGraceMs,
      lapseAfterMs: this.deps.timings.lapseAfterMs,
      timeoutMs: timeoutMinutes * 60_000,
    });
    switch (verdict.verdict) {
      case 'alive':
        log.warn(
          { agent: agent?.ref.slice(0, 12) },
          'reconciler: a running agent had no supervisor and no queue entry: queued again to be adopted',
        );
        await this.deps.queue.requeue({ jobId: job.id, channel: job.channel }, project?.priority ?? 0);
        this.count('adopt');
        return;
      case 'exited': {
        // The agent may have written its result before it went: the stream has the last word.
        const settled = await this.eventsSince(job);
        if (isFinished(settled)) {
          log.warn({ state: settled.state }, 'reconciler: an unsupervised job had ended in its stream: finishing it');
          await this.endJob(settled, 'finish-from-stream');
        } else {
          log.warn('reconciler: an unsupervised job’s agent is gone: failing it');
          await this.endJob(failJob(settled, endReason(verdict, timeoutMinutes) ?? 'its agent was gone', now), 'fail-gone');
        }
        return;
      }
      case 'lapsed':
      case 'overdue':
        log.warn({ verdict: verdict.verdict }, 'reconciler: an unsupervised job’s agent lapsed or overstayed: failing it');
        await this.endJob(
          failJob(job, endReason(verdict, timeoutMinutes) ?? 'its agent stopped', now),
          verdict.verdict === 'lapsed' ? 'fail-lapsed' : 'fail-overdue',
        );
        return;
      default:
        return; // starting, or not sure yet: the next pass looks again
    }
  }

  /** Ends a job under its supervision lease, so that no supervisor starts on it meanwhile. */
  private async endJob(job: JobRecord, action: ReconcilerAction): Promise<void> {
    const held = await this.deps.leases.acquire({
      kind: 'supervision',
      key: this.deps.keys.jobSupervisor(job.id),
      owner: this.deps.replicaId,
      leaseMs: 60_000,
    });
    if (!held) return; // a supervisor came after all
    try {
      await this.deps.finishFailed(job);
      this.count(action);
    } finally {
      await held.release().catch(() => undefined);
    }
  }

  /** The record with the events its agent wrote after the record's cursor applied. */
  private async eventsSince(job: JobRecord): Promise<JobRecord> {
    // Non-blocking reads on the shared connection (the reader is never closed: that would close it).
    const reader = new EventReader(this.deps.redis, this.deps.keys.jobEvents(job.id), job.cursor);
    let next = job;
    for (;;) {
      const entries = await reader.read(0, 500);
      for (const e of entries) if ('event' in e) next = { ...applyEvent(next, e.event), cursor: e.id };
      if (entries.length < 500 || isFinished(next)) return next;
    }
  }

  /** Stops and removes an agent whose job has ended or is unknown, and deletes what it was given. */
  private async removeOrphan(agent: AgentInfo, job: JobRecord | undefined): Promise<void> {
    const log = this.deps.logger.child({ jobId: agent.jobId, reconciler: true });
    log.warn(
      { agent: agent.ref.slice(0, 12), running: agent.running, job: job?.state ?? 'unknown' },
      'reconciler: removing an agent whose job has ended or is unknown',
    );
    await this.deps.spawner
      .stop(agent.jobId, this.deps.timings.stopGraceSeconds)
      .catch((err: unknown) => log.error({ err }, 'could not stop the orphan agent'));
    if (isJobId(agent.jobId)) {
      await this.deps.credentials
        .revoke(agent.jobId)
        .catch((err: unknown) => log.error({ err }, "could not delete the orphan agent's Redis user"));
      await this.deps.redis.del(this.deps.keys.jobSecret(agent.jobId)).catch(() => undefined);
    }
    this.count('remove-orphan');
  }

  /** Per-job Redis users whose job has ended or is unknown and which no agent uses. */
  private async revokeUnusedUsers(
    records: Map<string, JobRecord>,
    agents: Map<string, AgentInfo>,
    confirmed: (what: string) => boolean,
  ): Promise<void> {
    const users = await this.deps.redis.hkeys(this.deps.keys.agentUsers);
    for (const jobId of users) {
      if (agents.get(jobId)?.running || !isJobId(jobId)) continue;
      const job = records.get(jobId) ?? (await this.deps.store.get(jobId));
      if (job && !isFinished(job)) continue;
      if (await this.supervised(jobId)) continue;
      if (!confirmed(`user:${jobId}`)) continue;
      this.deps.logger.warn({ jobId, reconciler: true }, 'reconciler: deleting the Redis user of a job that has ended');
      await this.deps.credentials.revoke(jobId);
      this.count('revoke-credentials');
    }
  }

  /** Channel locks whose holder has ended or is unknown (a replica died between the end and the release). */
  private async freeStaleChannels(records: Map<string, JobRecord>, confirmed: (what: string) => boolean): Promise<void> {
    const prefix = this.deps.keys.channelLock('');
    let cursor = '0';
    do {
      const [next, keys] = await this.deps.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const holder = await this.deps.redis.get(key);
        if (holder === null) continue;
        const job = records.get(holder) ?? (await this.deps.store.get(holder));
        // A lock without a record may be a request between its lock and its record: the two-pass rule covers it.
        if (job && !isFinished(job)) continue;
        if (await this.supervised(holder)) continue;
        if (!confirmed(`channel:${key}:${holder}`)) continue;
        const channel = key.slice(prefix.length);
        this.deps.logger.warn({ channel, holder, reconciler: true }, 'reconciler: freeing a channel held by a job that has ended');
        await this.deps.freeChannel(channel, holder);
        this.count('free-channel');
      }
    } while (cursor !== '0');
  }

  /** Whether this Switchboard made the agent of a job it has no record of: its Redis user or its event stream is here. */
  private async madeHere(jobId: string): Promise<boolean> {
    if (!isJobId(jobId)) return false;
    const [user, stream] = await Promise.all([
      this.deps.redis.hexists(this.deps.keys.agentUsers, jobId),
      this.deps.redis.exists(this.deps.keys.jobEvents(jobId)),
    ]);
    return user === 1 || stream === 1;
  }

  private async supervised(jobId: string): Promise<boolean> {
    return (await this.deps.redis.exists(this.deps.keys.jobSupervisor(jobId))) === 1;
  }

  private count(action: ReconcilerAction): void {
    this.deps.metrics?.reconcilerActions.inc({ action });
  }
}
