// The relay of one running job: reads its agent's events from the stream,
// folds them into the record and the chat, and watches the agent (cancel
// requests, budget, liveness) until the job has ended or the replica lets go
// of it. It does not finish the job: it returns the ended record.
import type { Redis } from 'ioredis';
import { applyEvent, cancelJob, failJob, isFinished, type JobRecord } from '../../domain/job.js';
import type { Keys } from '../../domain/keys.js';
import type { Catalogue, Project } from '../../domain/project.js';
import { overBudget } from '../../domain/budget.js';
import type { JobStore } from '../../state/job-store.js';
import type { CancelRequest, JobControls } from '../../state/job-controls.js';
import type { AgentExit, AgentHandle } from '../../spawners/spawner.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Conversation } from '../conversation.js';
import { EventReader, type StreamEntry } from './event-reader.js';
import { endReason, liveness, NO_HEARTBEAT_YET, observeHeartbeat, type HeartbeatReading, type HeartbeatTrack } from './liveness.js';
import type { StatusThrottle } from './status-throttle.js';

export interface RelayTimings {
  /** How long one blocking read waits before the loop checks heartbeat, timeout and exit. */
  readBlockMs: number;
  /** How long an agent may take to send its first heartbeat. */
  startupGraceMs: number;
  /** How long a heartbeat that was there may stay away (Redis reachable) before the agent counts as lapsed. */
  lapseAfterMs: number;
  /** After a cancel, how long the runner has to stop its command and report before the spawner stops it. */
  cancelGraceMs: number;
}

export interface RelayDeps {
  redis: Redis;
  keys: Keys;
  store: JobStore;
  controls: JobControls;
  questions?: Pick<Conversation, 'ask'>;
  catalogue: () => Catalogue;
  metrics?: Metrics;
  timings: RelayTimings;
  now: () => number;
  stopAgent: (jobId: string, log: Logger) => Promise<void>;
}

export interface RelayRun {
  job: JobRecord;
  project: Project;
  handle: AgentHandle;
  throttle: StatusThrottle;
  log: Logger;
  signal: AbortSignal;
}

/** The ended job, or 'handed-over' when the signal said to let go (the agent keeps running). */
export type RelayOutcome = { ended: JobRecord } | 'handed-over';

const READ_COUNT = 100;

/** A job that failed after a cancel request was cancelled, by whoever asked (the runner reports a cancel as a failure). */
function asCancelled(job: JobRecord, cancel: CancelRequest | undefined): JobRecord {
  if (!cancel || job.state !== 'failed') return job;
  return { ...job, state: 'cancelled', cancelledBy: cancel.by, reason: cancel.reason };
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class RelayLoop {
  constructor(private readonly deps: RelayDeps) {}

  async run(r: RelayRun): Promise<RelayOutcome> {
    const { deps } = this;
    const { project, handle, throttle, log, signal } = r;
    const jobId = r.job.id;
    let job = r.job;
    let exit: AgentExit | undefined;
    void handle.exited.then((e) => (exit = e));
    const reader = new EventReader(deps.redis.duplicate(), deps.keys.jobEvents(jobId), job.cursor);
    const onAbort = () => reader.close();
    signal.addEventListener('abort', onAbort, { once: true });
    let heartbeat: HeartbeatTrack = NO_HEARTBEAT_YET;
    // In an object: the closures below set it, which plain narrowing of a `let` would not see.
    const seen: { cancel?: CancelRequest; at: number } = { at: 0 };
    const cancelRequest = async () => (seen.cancel ??= await deps.controls.cancelRequest(jobId));
    /** Applies entries; a failure after a cancel request is the cancel. */
    const take = async (entries: StreamEntry[]) => {
      job = await this.applyEntries(job, entries, throttle, log);
      if (job.state === 'failed') await cancelRequest();
      job = asCancelled(job, seen.cancel);
    };

    try {
      while (!isFinished(job)) {
        if (signal.aborted) {
          throttle.cancel();
          log.info('letting go of the job: the agent keeps running for another replica');
          return 'handed-over';
        }
        const exitedBeforeRead = exit;
        let entries: StreamEntry[];
        try {
          entries = await reader.read(exitedBeforeRead ? 0 : deps.timings.readBlockMs, READ_COUNT);
        } catch (err) {
          if (signal.aborted) continue;
          log.warn({ err }, 'reading agent events failed; retrying');
          await pause(1000, signal);
          continue;
        }
        await take(entries);
        if (isFinished(job)) break;
        const overspent = overBudget(job, deps.catalogue().get(job.project)?.budget ?? project.budget);
        if (overspent) {
          job = failJob(job, overspent, deps.now(), false);
          await deps.stopAgent(jobId, log);
          break;
        }

        const now = deps.now();
        if (!seen.cancel) {
          const cancel = await cancelRequest();
          if (cancel) {
            seen.at = now;
            log.info({ by: cancel.by }, 'cancel requested: the agent has its grace period to stop');
            // The status says so at once (and loses its Cancel button) while the agent stops.
            job = { ...job, cancelRequestedBy: cancel.by };
            await deps.store.save(job);
            throttle.offer(job);
          }
        } else if (now - seen.at > deps.timings.cancelGraceMs) {
          log.warn('the agent did not stop within its cancel grace: stopping it');
          await deps.stopAgent(jobId, log);
          job = cancelJob(job, seen.cancel.by, now, seen.cancel.reason);
          break;
        }

        if (!exitedBeforeRead) heartbeat = observeHeartbeat(heartbeat, await this.readHeartbeat(jobId, log), now);
        const verdict = liveness({
          now,
          heartbeat,
          exit: exitedBeforeRead,
          reportedIn: job.state === 'running',
          startedAt: job.startedAt,
          startGraceMs: deps.timings.startupGraceMs,
          lapseAfterMs: deps.timings.lapseAfterMs,
          timeoutMs: project.timeoutMinutes * 60_000,
        });
        if (verdict.verdict === 'exited') {
          if (entries.length === READ_COUNT) continue; // not drained yet
          // The stream is drained and no result came: the agent died without a word (or was cancelled).
          const c = await cancelRequest();
          job = c
            ? cancelJob(job, c.by, now, c.reason)
            : failJob(job, endReason(verdict, project.timeoutMinutes) ?? 'the agent exited', now);
          break;
        }
        if (verdict.verdict === 'lapsed') {
          // A runner that just finished deletes its heartbeat right after its last event: read once more first.
          const late = await reader.read(0, READ_COUNT);
          if (late.length) {
            await take(late);
            continue;
          }
          // After a cancel request, an agent that goes quiet was cancelled, not broken.
          const c = await cancelRequest();
          job = c
            ? cancelJob(job, c.by, now, c.reason)
            : failJob(job, endReason(verdict, project.timeoutMinutes) ?? 'the agent went silent', now);
          await deps.stopAgent(jobId, log);
          break;
        }
        if (verdict.verdict === 'overdue') {
          job = failJob(job, endReason(verdict, project.timeoutMinutes) ?? 'the job ran too long', now);
          await deps.stopAgent(jobId, log);
          break;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      reader.close();
    }
    return { ended: job };
  }

  /** The heartbeat key read once; a Redis error is 'unknown', never 'absent'. */
  private async readHeartbeat(jobId: string, log: Logger): Promise<HeartbeatReading> {
    try {
      return (await this.deps.redis.exists(this.deps.keys.jobHeartbeat(jobId))) === 1 ? 'present' : 'absent';
    } catch (err) {
      log.warn({ err }, 'could not read the agent’s heartbeat; deciding nothing until Redis answers');
      return 'unknown';
    }
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
      await this.deps.store.save(next, job);
      if (!isFinished(next)) throttle.offer(next);
    }
    return next;
  }
}
