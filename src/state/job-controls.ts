// The dispatcher's side of a job's control: the cancel request (kept once, so
// a second cancel is harmless and any replica's supervisor sees it), the
// control stream the runner reads (DESIGN §5: cancel {by, reason}), and the
// one-time claim of a retry.
import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';
import type { ControlMessage } from '../domain/events.js';
import { assertJobId } from '../domain/job-id.js';
import { JOB_RECORD_TTL_SECONDS } from './job-store.js';

export interface CancelRequest {
  /** The chat user who cancelled. */
  by: string;
  /** Plain words for the agent's log and the job's reason. */
  reason: string;
  at: number;
}

/** A control stream is short-lived: a job's handful of messages, gone with the job. */
const CONTROL_MAXLEN = 100;
/** A retry claim outlives a request even when its replica dies halfway (it is released at the end otherwise). */
const RETRY_CLAIM_SECONDS = 60;

export class JobControls {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Records the cancel request; false when the job was already being cancelled (the first request stands). */
  async requestCancel(jobId: string, req: CancelRequest): Promise<boolean> {
    assertJobId(jobId);
    return (await this.redis.set(this.keys.jobCancel(jobId), JSON.stringify(req), 'EX', JOB_RECORD_TTL_SECONDS, 'NX')) === 'OK';
  }

  /** The job's cancel request, if someone made one. */
  async cancelRequest(jobId: string): Promise<CancelRequest | undefined> {
    assertJobId(jobId);
    const raw = await this.redis.get(this.keys.jobCancel(jobId));
    if (raw === null) return undefined;
    try {
      const parsed = JSON.parse(raw) as Partial<CancelRequest>;
      return { by: String(parsed.by ?? ''), reason: String(parsed.reason ?? 'cancelled'), at: Number(parsed.at ?? 0) };
    } catch {
      return { by: '', reason: 'cancelled', at: 0 };
    }
  }

  /** Sends a control message to the job's runner (it reads the stream from the start, so one sent before it runs still arrives). */
  async send(jobId: string, msg: ControlMessage): Promise<void> {
    assertJobId(jobId);
    const key = this.keys.jobControl(jobId);
    await this.redis
      .multi()
      .xadd(key, 'MAXLEN', '~', CONTROL_MAXLEN, '*', 'm', JSON.stringify(msg))
      .expire(key, JOB_RECORD_TTL_SECONDS)
      .exec();
  }

  /** Claims the retry of a finished job while the new one is being requested; false when a retry of it is under way. */
  async claimRetry(jobId: string): Promise<boolean> {
    assertJobId(jobId);
    return (await this.redis.set(this.keys.jobRetry(jobId), '1', 'EX', RETRY_CLAIM_SECONDS, 'NX')) === 'OK';
  }

  /** Gives the claim back (the retry could not start), so the next press may try again. */
  async releaseRetry(jobId: string): Promise<void> {
    assertJobId(jobId);
    await this.redis.del(this.keys.jobRetry(jobId));
  }
}
