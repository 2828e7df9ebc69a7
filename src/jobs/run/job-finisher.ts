// The end of a job, however it ended (result, failure, cancel, lapsed agent,
// a reconciler's verdict): saves the record, frees the channel (or passes it
// to the next job waiting for it), shows and announces the end once, sees the
// agent gone, and deletes what the job was given (Redis user, secret,
// inference token, workspace).
import type { Redis } from 'ioredis';
import type { JobRecord } from '../../domain/job.js';
import type { Keys } from '../../domain/keys.js';
import type { Catalogue } from '../../domain/project.js';
import type { AgentCredentials } from '../../state/agent-credentials.js';
import type { ChannelLock } from '../../state/channel-lock.js';
import type { JobStore } from '../../state/job-store.js';
import type { AgentHandle, JobSpawner } from '../../spawners/spawner.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Conversation } from '../conversation.js';
import type { WaitingJobs } from '../waiting-jobs.js';
import type { JobNotifier } from '../ports.js';
import { StatusThrottle } from './status-throttle.js';
import { announceResult } from './result-announcement.js';

export interface JobFinisherDeps {
  redis: Redis;
  keys: Keys;
  store: JobStore;
  lock: ChannelLock;
  workspaceLock: ChannelLock;
  credentials: AgentCredentials;
  spawner: JobSpawner;
  notifier: JobNotifier;
  channels?: Pick<WaitingJobs, 'release' | 'freeIfNoneWaiting'>;
  questions?: Pick<Conversation, 'jobEnded'>;
  catalogue: () => Catalogue;
  metrics?: Metrics;
  inference?: { revoke(jobId: string): Promise<void> };
  /** SIGTERM → SIGKILL grace when the dispatcher stops an agent. */
  stopGraceSeconds: number;
  /** How long to wait for the container to go after the final event. */
  exitWaitMs: number;
}

export class JobFinisher {
  constructor(private readonly deps: JobFinisherDeps) {}

  /** Saves, shows and announces the end, frees the channel, and sees the agent gone. */
  async finish(job: JobRecord, throttle: StatusThrottle, handle: AgentHandle | undefined, log: Logger): Promise<'finished'> {
    const d = this.deps;
    await d.store.save(job);
    // Its inference token goes first: requests in flight are cancelled, new ones get 401.
    await d.inference?.revoke(job.id).catch((err: unknown) => log.error({ err }, "could not revoke the job's inference token"));
    // Free the channel first: the result tells people they may ask again. A job waiting for it (`busy: queue`) gets it,
    // except that a workspace project's next job needs the workspace too: its channel passes on once that is free (below).
    const workspace = d.catalogue().get(job.project)?.workspace;
    const { channels } = d;
    const passChannelOn = () => (channels ? channels.release(job.channel, job.id) : d.lock.release(job.channel, job.id));
    if (!workspace) await passChannelOn();
    else if (channels) await channels.freeIfNoneWaiting(job.channel, job.id);
    else await d.lock.release(job.channel, job.id);
    // The result does not wait for the final status update (which may wait for chat.update's budget).
    await Promise.all([throttle.final(job), announceResult(job, { store: d.store, notifier: d.notifier, log })]);
    // Questions still open can no longer be answered: their messages say so.
    await d.questions?.jobEnded(job).catch((err: unknown) => log.error({ err }, 'could not close the job’s open questions'));
    d.metrics?.jobsFinished.inc({ state: job.state });
    log.info({ state: job.state, reason: job.reason }, `job ${job.state}`);
    if (handle) {
      let timer: NodeJS.Timeout | undefined;
      const gone = await Promise.race([
        handle.exited.then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), d.exitWaitMs))),
      ]);
      clearTimeout(timer);
      if (!gone) await this.stopAgent(job.id, log);
    }
    // Only once the agent is gone (it may still be tidying up with its own keys): its Redis user
    // goes with the job, however it ended, and its workspace is free for the next job.
    await this.forgetAgent(job.id, log);
    if (workspace) {
      await d.workspaceLock.release(workspace, job.id).catch((err: unknown) => log.error({ err }, 'could not release the workspace'));
      await passChannelOn();
    }
    return 'finished';
  }

  /** Deletes a job's per-job Redis user and secret (its agent is gone, or is being removed). */
  async forgetAgent(jobId: string, log: Logger): Promise<void> {
    await this.deps.credentials.revoke(jobId).catch((err: unknown) => log.error({ err }, "could not delete the agent's Redis user"));
    await this.deps.redis
      .del(this.deps.keys.jobSecret(jobId))
      .catch((err: unknown) => log.error({ err }, "could not delete the job's secret"));
  }

  /** Status updates of one job, paced to its fair share of the chat budget when the notifier knows it. */
  statusThrottle(jobId: string, baseMs: number, log: Logger): StatusThrottle {
    const { notifier } = this.deps;
    const pacer = notifier.statusPacer?.(jobId, baseMs);
    return new StatusThrottle(
      (j, info) => notifier.updateStatus(j, info),
      pacer ? () => pacer.intervalMs() : baseMs,
      log,
      () => pacer?.close(),
    );
  }

  async stopAgent(jobId: string, log: Logger): Promise<void> {
    await this.deps.spawner.stop(jobId, this.deps.stopGraceSeconds).catch((err: unknown) => log.error({ err }, 'could not stop the agent'));
  }
}
