// `busy: queue`: a request in a busy channel waits behind the running job
// instead of being refused. Waiting jobs are in the channel's line
// (state/channel-line.ts), not yet in the dispatch queue; when the channel's
// job ends, the lock passes to the first of them, which then joins the
// dispatch queue like any job. Their status messages show their place.
import { isFinished, type JobRecord } from '../domain/job.js';
import type { Catalogue } from '../domain/project.js';
import type { ChannelLine } from '../state/channel-line.js';
import type { JobStore } from '../state/job-store.js';
import type { JobNotifier } from './ports.js';
import type { Logger } from '../observability/logger.js';
import type { QueuedJobData } from './job-queue.js';

export interface WaitingJobsDeps {
  line: ChannelLine;
  store: JobStore;
  notifier: Pick<JobNotifier, 'updateStatus'>;
  catalogue: () => Catalogue;
  enqueue: (data: QueuedJobData, priority: number) => Promise<void>;
  /** Is this job in the dispatch queue (waiting, active, …)? For the sweep after a replica died mid-hand-over. */
  isQueued: (jobId: string) => Promise<boolean>;
  lockLeaseMs: number;
  logger: Logger;
}

export class WaitingJobs {
  constructor(private readonly deps: WaitingJobsDeps) {}

  /**
   * Takes the channel for a recorded job (status message posted), or puts it
   * in the channel's line. `took`: the caller queues it as usual.
   */
  async join(job: JobRecord): Promise<{ took: true } | { took: false; job: JobRecord }> {
    const r = await this.deps.line.takeOrWait(job.channel, job.id, this.deps.lockLeaseMs);
    if (r.took) return { took: true };
    const waiting =
      (await this.deps.store.update(job.id, (j) => (j.state === 'queued' ? { ...j, waiting: { position: r.position } } : j))) ?? job;
    this.deps.logger.info(
      { jobId: job.id, channel: job.channel, behind: r.holder, position: r.position },
      'job waits for the busy channel',
    );
    await this.deps.notifier
      .updateStatus(waiting)
      .catch((err: unknown) => this.deps.logger.warn({ err, jobId: job.id }, 'could not show the job’s place in line'));
    return { took: false, job: waiting };
  }

  /**
   * Frees the channel of a job that ended and starts the next waiting job, if
   * any. A no-op unless `jobId` held the channel. Waiting jobs that ended in
   * the meantime (cancelled) are passed over.
   */
  async release(channel: string, jobId: string): Promise<void> {
    let owner = jobId;
    for (;;) {
      const next = await this.deps.line.passOn(channel, owner, this.deps.lockLeaseMs);
      if (!next) return; // free, or not ours to pass on
      if (await this.start(next)) break;
      owner = next;
    }
    await this.refreshPlaces(channel);
  }

  /** Frees a finished job's channel unless jobs wait for it (they get it from release(), once the job has tidied up). */
  async freeIfNoneWaiting(channel: string, jobId: string): Promise<void> {
    await this.deps.line.freeIfNoneWaiting(channel, jobId);
  }

  /** Takes a waiting job out of its line (it was cancelled); the jobs behind it move up. */
  async leave(job: Pick<JobRecord, 'id' | 'channel'>): Promise<boolean> {
    const left = await this.deps.line.leave(job.channel, job.id);
    if (left) await this.refreshPlaces(job.channel);
    return left;
  }

  /** Every job waiting in a channel's line, first in line first per channel. */
  async allWaiting(): Promise<string[]> {
    const out: string[] = [];
    for (const channel of await this.deps.line.channels()) out.push(...(await this.deps.line.waiting(channel)));
    return out;
  }

  /**
   * Keeps every line moving after a replica died at the wrong moment: a
   * channel nobody holds passes to its first waiting job, and a holder that
   * never reached the dispatch queue is queued. Any replica may run it.
   */
  async sweep(): Promise<void> {
    for (const channel of await this.deps.line.channels()) {
      const resumed = await this.deps.line.resume(channel, this.deps.lockLeaseMs);
      if (resumed) {
        if (await this.start(resumed)) await this.refreshPlaces(channel);
        else await this.release(channel, resumed);
      }
      const holder = await this.deps.line.holder(channel);
      const held = holder ? await this.deps.store.get(holder) : undefined;
      if (held?.state === 'queued' && !(await this.deps.isQueued(held.id))) await this.start(held.id);
      // Only once its last job is queued: until then the sweep must look at this channel again.
      await this.deps.line.forgetIfEmpty(channel);
    }
  }

  /** Queues a job that was just handed the channel; false when it had ended while it waited. */
  private async start(jobId: string): Promise<boolean> {
    const job = await this.deps.store.update(jobId, (j) => (j.waiting ? { ...j, waiting: undefined } : j));
    if (!job || isFinished(job)) return false;
    const project = this.deps.catalogue().get(job.project);
    if (!(await this.deps.isQueued(job.id))) await this.deps.enqueue({ jobId: job.id, channel: job.channel }, project?.priority ?? 0);
    this.deps.logger.info({ jobId, channel: job.channel }, 'the channel passed to the next waiting job');
    await this.deps.notifier
      .updateStatus(job)
      .catch((err: unknown) => this.deps.logger.warn({ err, jobId }, 'could not update the status of the next job'));
    return true;
  }

  /** Updates the place shown by each waiting job's status message. */
  private async refreshPlaces(channel: string): Promise<void> {
    const ids = await this.deps.line.waiting(channel);
    for (const [i, id] of ids.entries()) {
      const position = i + 1;
      const job = await this.deps.store.get(id);
      if (!job || isFinished(job) || job.waiting?.position === position) continue;
      const moved = await this.deps.store.update(id, (j) => (j.state === 'queued' ? { ...j, waiting: { position } } : j));
      if (moved)
        await this.deps.notifier
          .updateStatus(moved)
          .catch((err: unknown) => this.deps.logger.warn({ err, jobId: id }, 'could not update a place in line'));
    }
  }
}
