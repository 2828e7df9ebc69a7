// Job records live in one Redis string per job (JSON), with a TTL so finished
// jobs age out. Only the dispatcher replica relaying a job writes it.
import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';
import type { JobRecord } from '../domain/job.js';
import { assertJobId, isJobId } from '../domain/job-id.js';

export const JOB_RECORD_TTL_SECONDS = 7 * 24 * 60 * 60;
/** How many jobs the index keeps (running, queued and finished together). */
export const JOB_INDEX_SIZE = 500;

export class JobStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async save(job: JobRecord): Promise<void> {
    assertJobId(job.id);
    // The index lists the newest jobs for the dashboard; capped, and aging out like the records.
    const results = await this.redis
      .multi()
      .set(this.keys.job(job.id), JSON.stringify(job), 'EX', JOB_RECORD_TTL_SECONDS)
      .zadd(this.keys.jobIndex, job.createdAt, job.id)
      .zremrangebyrank(this.keys.jobIndex, 0, -(JOB_INDEX_SIZE + 1))
      .expire(this.keys.jobIndex, JOB_RECORD_TTL_SECONDS)
      .exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  /** The newest jobs first (at most `limit`, and at most JOB_INDEX_SIZE are kept); expired records are left out. */
  async recent(limit: number): Promise<JobRecord[]> {
    const ids = await this.redis.zrevrange(this.keys.jobIndex, 0, Math.min(limit, JOB_INDEX_SIZE) - 1);
    const valid = ids.filter(isJobId);
    if (!valid.length) return [];
    const raws = await this.redis.mget(...valid.map((id) => this.keys.job(id)));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as JobRecord);
  }

  /** The record, or undefined; ids that Switchboard never makes (from a lock, a queue entry or a button) have none. */
  async get(jobId: string): Promise<JobRecord | undefined> {
    if (!isJobId(jobId)) return undefined;
    const raw = await this.redis.get(this.keys.job(jobId));
    return raw === null ? undefined : (JSON.parse(raw) as JobRecord);
  }

  /** Reads, changes and writes one record; returns the new record. */
  async update(jobId: string, change: (job: JobRecord) => JobRecord): Promise<JobRecord | undefined> {
    const job = await this.get(jobId);
    if (!job) return undefined;
    const next = change(job);
    if (next !== job) await this.save(next);
    return next;
  }

  /** Remembers which job talks in this thread, so `cancel` or `retry` said in it finds the job. */
  async indexThread(job: JobRecord): Promise<void> {
    assertJobId(job.id);
    if (!job.threadTs) return;
    await this.redis.set(this.keys.jobByThread(job.channel, job.threadTs), job.id, 'EX', JOB_RECORD_TTL_SECONDS);
  }

  /** The job whose thread this is (the latest one, when a thread held more than one). */
  async byThread(channel: string, threadTs: string): Promise<JobRecord | undefined> {
    const id = await this.redis.get(this.keys.jobByThread(channel, threadTs));
    return id === null ? undefined : this.get(id);
  }

  /**
   * Claims the one-time right to announce a job's result, so that two
   * replicas that both saw the end never post it twice.
   */
  async claimResultAnnouncement(jobId: string): Promise<boolean> {
    assertJobId(jobId);
    const key = `${this.keys.job(jobId)}:announced`;
    return (await this.redis.set(key, '1', 'EX', JOB_RECORD_TTL_SECONDS, 'NX')) === 'OK';
  }
}
