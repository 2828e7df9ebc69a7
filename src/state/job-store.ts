// Job records live in one Redis string per job (JSON), with a TTL so finished
// jobs age out. Only the dispatcher replica relaying a job writes it.
import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';
import { isFinished, type JobRecord } from '../domain/job.js';
import { assertJobId, isJobId } from '../domain/job-id.js';
import { HandledOnce, type ClaimOutcome } from './handled-once.js';

export const JOB_RECORD_TTL_SECONDS = 7 * 24 * 60 * 60;
/** How many jobs the index keeps (running, queued and finished together). */
export const JOB_INDEX_SIZE = 500;

/** How long one replica may take to post a result before another one may (renewed while it waits for Slack's budget). */
export const ANNOUNCE_LEASE_MS = 20_000;

export class JobStore {
  private readonly announcements: HandledOnce;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    announceLeaseMs = ANNOUNCE_LEASE_MS,
  ) {
    this.announcements = new HandledOnce(redis, announceLeaseMs);
  }

  /**
   * Writes the record. `before`: the record as it was last saved (the relay passes it); when the state is the
   * same, the index and the jobs-by-state hash already hold this job, so only the record itself is written
   * (the relay saves once per batch of agent events: that write is its hot path).
   */
  async save(job: JobRecord, before?: JobRecord): Promise<void> {
    assertJobId(job.id);
    if (before && before.id === job.id && before.state === job.state) {
      await this.redis.set(this.keys.job(job.id), JSON.stringify(job), 'EX', JOB_RECORD_TTL_SECONDS);
      return;
    }
    // The index lists the newest jobs for the dashboard; capped, and aging out like the records.
    const tx = this.redis
      .multi()
      .set(this.keys.job(job.id), JSON.stringify(job), 'EX', JOB_RECORD_TTL_SECONDS)
      .zadd(this.keys.jobIndex, job.createdAt, job.id)
      .zremrangebyrank(this.keys.jobIndex, 0, -(JOB_INDEX_SIZE + 1))
      .expire(this.keys.jobIndex, JOB_RECORD_TTL_SECONDS);
    // Jobs by state (metrics): unfinished jobs in one small hash, so a scrape never reads every record.
    if (isFinished(job)) tx.hdel(this.keys.activeJobs, job.id);
    else tx.hset(this.keys.activeJobs, job.id, job.state).expire(this.keys.activeJobs, JOB_RECORD_TTL_SECONDS);
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  /** How many unfinished jobs there are in each state (queued, starting, running), all replicas. */
  async countByState(): Promise<Record<string, number>> {
    const active = Object.entries(await this.redis.hgetall(this.keys.activeJobs));
    if (!active.length) return {};
    // A record that expired unfinished (its job long gone) leaves the count here.
    const exists = await this.redis.pipeline(active.map(([id]) => ['exists', this.keys.job(id)])).exec();
    const gone = active.filter((_, i) => exists?.[i]?.[1] === 0).map(([id]) => id);
    if (gone.length) await this.redis.hdel(this.keys.activeJobs, ...gone);
    const counts: Record<string, number> = {};
    for (const [id, state] of active) if (!gone.includes(id)) counts[state] = (counts[state] ?? 0) + 1;
    return counts;
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
   * Claims the announcement of a job's result while it is posted, so that
   * two replicas that both saw the end never post it twice; it is marked
   * done (`claim.done(JOB_RECORD_TTL_SECONDS)`) only once Slack took it (or
   * the outbox keeps it). A replica that dies while posting lets its lease
   * lapse, and the replica that takes the job over posts it.
   */
  async claimResultAnnouncement(jobId: string): Promise<ClaimOutcome> {
    assertJobId(jobId);
    return this.announcements.claim(`${this.keys.job(jobId)}:announced`);
  }
}
