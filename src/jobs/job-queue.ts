// The dispatch queue (BullMQ): jobs wait here for one of MAX_CONCURRENT_JOBS
// slots shared by every replica. A job stays "active" for as long as its agent
// runs, so the global concurrency limit is the number of running agents.
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectRedis } from '../state/redis.js';
import { isRedisUnavailable } from '../errors.js';
import { assertJobId } from '../domain/job-id.js';
import type { Logger } from '../observability/logger.js';

export const QUEUE_NAME = 'jobs';

export interface QueuedJobData {
  jobId: string;
  channel: string;
  /** Set when a replica gave the job back (shutdown, relayed elsewhere): its next take is not a first take. */
  handedOver?: boolean;
}

/**
 * Runs one job to its end; 'handed-over' puts it back for another replica at once, 'elsewhere' (another
 * replica relays it) a little later. The signal aborts on shutdown, and when this replica lost the job's lock.
 */
export type JobProcessor = (jobId: string, signal: AbortSignal) => Promise<'finished' | 'handed-over' | 'elsewhere'>;

export interface JobQueueOptions {
  redisUrl: string;
  /** BullMQ key prefix (keys.queuePrefix). */
  prefix: string;
  maxConcurrentJobs: number;
  logger: Logger;
  /**
   * BullMQ's job lock: a replica that dies (kill -9) holds its jobs at most this long, then another
   * replica's stalled check takes them over. Renewed every quarter of it. Default 8 s.
   */
  takeoverLeaseMs?: number;
  /** How often BullMQ looks for jobs whose lock lapsed. Default 2 s. */
  stalledCheckMs?: number;
  /** Hears how long a job waited for its slot, the first time a worker takes it (metrics). */
  onTaken?: (waitedMs: number) => void;
}

const ATTEMPTS = 3;

/** "larger runs earlier" (catalogue) → BullMQ's "1 is the highest priority". */
export function queuePriority(projectPriority: number): number {
  return Math.min(2_097_152, Math.max(1, 1_000_000 - Math.round(projectPriority)));
}

export class JobQueue {
  private readonly connection: Redis;
  readonly queue: Queue<QueuedJobData>;
  private worker?: Worker<QueuedJobData>;
  private workerConnection?: Redis;
  private readonly shutdown = new AbortController();

  constructor(private readonly options: JobQueueOptions) {
    // BullMQ needs maxRetriesPerRequest: null, and the worker's blocking reads a connection of their own.
    this.connection = connectRedis(options.redisUrl, 'queue', { maxRetriesPerRequest: null }, options.logger);
    this.queue = new Queue<QueuedJobData>(QUEUE_NAME, { connection: this.connection, prefix: options.prefix });
    // Connection trouble is said once by the connection itself (state/redis.ts), not on every retry.
    this.queue.on('error', (err) =>
      isRedisUnavailable(err) ? options.logger.debug({ err }, 'queue: Redis unreachable') : options.logger.error({ err }, 'queue error'),
    );
  }

  /** Sets the cluster-wide cap; every replica sets the same value. */
  async init(): Promise<void> {
    await this.queue.setGlobalConcurrency(this.options.maxConcurrentJobs);
  }

  async enqueue(data: QueuedJobData, projectPriority: number): Promise<void> {
    assertJobId(data.jobId); // becomes BullMQ's job id: one BullMQ refuses would fail every request for it
    await this.queue.add('run', data, {
      jobId: data.jobId, // BullMQ ignores a second add with the same id
      priority: queuePriority(projectPriority),
      attempts: ATTEMPTS,
      backoff: { type: 'exponential', delay: 5000 },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
    });
  }

  /** Whether the queue has this job (in any state). */
  async contains(jobId: string): Promise<boolean> {
    return (await this.queue.getJob(jobId)) !== undefined;
  }

  /** How many jobs wait for a slot (handed-over ones, delayed, have their agents running: not counted). */
  async depth(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'prioritized');
    return (counts.waiting ?? 0) + (counts.prioritized ?? 0);
  }

  /** BullMQ's state of a job (active, waiting, delayed, completed…), undefined when the queue does not have it. */
  async stateOf(jobId: string): Promise<string | undefined> {
    const state = await this.queue.getJobState(jobId);
    return state === 'unknown' ? undefined : state;
  }

  /** Queues a job again (the reconciler adopting a running agent): an entry that completed or failed is replaced. */
  async requeue(data: QueuedJobData, projectPriority: number): Promise<void> {
    const old = await this.queue.getJob(data.jobId);
    if (old) {
      const state = await old.getState();
      if (state !== 'completed' && state !== 'failed') return; // still in the queue's hands
      await old.remove();
    }
    await this.enqueue(data, projectPriority);
  }

  /** Jobs still waiting for a slot. */
  async waiting(): Promise<QueuedJobData[]> {
    const jobs = await this.queue.getJobs(['waiting', 'prioritized', 'delayed']);
    return jobs.filter((j): j is Job<QueuedJobData> => Boolean(j)).map((j) => j.data);
  }

  /**
   * Takes a job that is still waiting out of the queue; false when a worker
   * already has it (or it is gone), so its supervisor must see to it.
   */
  async remove(jobId: string): Promise<boolean> {
    assertJobId(jobId);
    try {
      return (await this.queue.remove(jobId)) === 1;
    } catch {
      // BullMQ refuses to remove a job a worker holds (locked): the worker has it.
      return false;
    }
  }

  /** The jobs being run now, and the waiting ones in the order they will start. */
  async lineUp(): Promise<{ running: string[]; waiting: string[] }> {
    // Every job has a priority (queuePriority), so the waiting ones are in the prioritized set, in order.
    const [active, prioritized, waiting, delayed] = await Promise.all([
      this.queue.getJobs(['active']),
      this.queue.getJobs(['prioritized'], 0, -1, true),
      this.queue.getJobs(['waiting'], 0, -1, true),
      this.queue.getJobs(['delayed'], 0, -1, true),
    ]);
    const ids = (jobs: (Job<QueuedJobData> | undefined)[]) =>
      jobs.filter((j): j is Job<QueuedJobData> => Boolean(j)).map((j) => j.data.jobId);
    // Delayed ones were handed over by a replica that stopped (their agents run on) or wait out a crash back-off.
    return { running: [...ids(active), ...ids(delayed)], waiting: [...ids(waiting), ...ids(prioritized)] };
  }

  /**
   * Starts taking jobs. `onGiveUp` hears of a job whose processing kept
   * crashing, so that its user is told and its channel freed.
   */
  startWorker(process: JobProcessor, onGiveUp: (jobId: string, error: string) => Promise<void>): void {
    const log = this.options.logger;
    const takeoverLeaseMs = this.options.takeoverLeaseMs ?? 8000;
    const workerConnection = (this.workerConnection = connectRedis(this.options.redisUrl, 'worker', { maxRetriesPerRequest: null }, log));
    this.worker = new Worker<QueuedJobData>(
      QUEUE_NAME,
      async (job, token) => {
        // Its first take only: a job handed over, stalled or retried has waited for something else.
        if (job.attemptsMade === 0 && job.stalledCounter === 0 && !job.data.handedOver) this.options.onTaken?.(Date.now() - job.timestamp);
        const result = await process(job.data.jobId, this.shutdown.signal);
        if (result === 'finished') return;
        await job.updateData({ ...job.data, handedOver: true }).catch(() => undefined); // not a first take when it comes back
        // Back to the queue: at once for another replica (shutdown), later when another replica relays it.
        const later = result === 'elsewhere' ? takeoverLeaseMs : 0;
        await job.moveToDelayed(Date.now() + later, token).catch((err: unknown) => {
          // The lock lapsed (this replica stalled): BullMQ has already given the job to the stalled check.
          log.info({ jobId: job.data.jobId, err }, 'job already taken back by the queue');
        });
        throw new DelayedError();
      },
      {
        connection: workerConnection,
        prefix: this.options.prefix,
        concurrency: this.options.maxConcurrentJobs,
        // A replica that dies mid-job stalls it; another replica adopts the agent. The lock (renewed every
        // eighth to quarter of its time, so a hiccup of three quarters of it is survived) and the stalled
        // check bound the takeover after a kill -9: lock + check, plus the pick-up.
        lockDuration: takeoverLeaseMs,
        lockRenewTime: takeoverLeaseMs / 4,
        stalledInterval: this.options.stalledCheckMs ?? 2000,
        maxStalledCount: 100,
      },
    );
    // A lock that could not be renewed (a Redis blip, a busy event loop) lets the stalled check hand the job to another
    // worker, but it does not end this supervision: the job's supervision lease decides who relays it (the other worker
    // finds it held and puts the job back for later). Letting go here lost jobs whose queue entry was gone after a Redis restart.
    this.worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds)
        log.warn({ jobId: id }, 'could not renew the queue lock of a running job; its supervision lease still holds it');
    });
    this.worker.on('failed', (job, err) => {
      if (!job) return;
      log.error({ jobId: job.data.jobId, attempt: job.attemptsMade, err }, 'processing a job crashed');
      if (job.attemptsMade >= (job.opts.attempts ?? 1)) {
        void onGiveUp(job.data.jobId, err.message).catch((e: unknown) =>
          log.error({ jobId: job.data.jobId, err: e }, 'could not fail the job'),
        );
      }
    });
    this.worker.on('error', (err) => {
      if (isRedisUnavailable(err)) log.debug({ err }, 'queue worker: Redis unreachable');
      // BullMQ says a failed lock renewal twice (this error and lockRenewalFailed): the latter is logged above.
      else if (/^could not renew lock for job /.test(err.message)) log.debug({ err }, 'queue worker: a lock renewal failed');
      else log.error({ err }, 'queue worker error');
    });
  }

  /** After close() ran out of time (Redis away): drops the connections without waiting for anything. */
  abandon(): void {
    this.shutdown.abort();
    void this.worker?.close(true).catch(() => undefined);
    this.workerConnection?.disconnect();
    this.connection.disconnect();
  }

  /** Stops taking jobs, hands running ones over (their agents keep running), closes connections. */
  async close(): Promise<void> {
    this.shutdown.abort();
    await this.worker?.close();
    await this.queue.close();
    this.workerConnection?.disconnect();
    this.connection.disconnect();
  }
}
