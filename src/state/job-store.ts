// Job records live in one Redis string per job (JSON), with a TTL so finished
// jobs age out. Only the dispatcher replica relaying a job writes it.
import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';
import type { JobRecord } from '../domain/job.js';
import { assertJobId, isJobId } from '../domain/job-id.js';

export const JOB_RECORD_TTL_SECONDS = 7 * 24 * 60 * 60;

export class JobStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async save(job: JobRecord): Promise<void> {
    assertJobId(job.id);
    await this.redis.set(this.keys.job(job.id), JSON.stringify(job), 'EX', JOB_RECORD_TTL_SECONDS);
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
