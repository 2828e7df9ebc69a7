// Per-job inference tokens. The dispatcher makes one when it starts a job's
// agent and deletes it when the job ends; any replica checks a request's token
// against Redis, so a request is tied to a live job whichever replica it
// reaches. Only a hash of the token is stored (a Redis dump shows no usable
// token). Deleting one publishes the job id, so every replica cancels that
// job's requests at once.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface JobTokenKeys {
  /** token hash → job id */
  token(hash: string): string;
  /** job id → token hash (to delete it with the job) */
  jobToken(jobId: string): string;
  /** pub/sub: job ids whose tokens were revoked */
  revoked: string;
}

export function jobTokenKeys(prefix: string): JobTokenKeys {
  return {
    token: (hash) => `${prefix}inference:token:${hash}`,
    jobToken: (jobId) => `${prefix}job:${jobId}:inference-token`,
    revoked: `${prefix}inference:revoked`,
  };
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** Tokens are 32 random bytes, hex: nothing else in a path or header looks like one. */
export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

export class JobTokens {
  constructor(
    private readonly redis: Redis,
    private readonly keys: JobTokenKeys,
  ) {}

  /** A new token for the job, valid until revoked or `ttlSeconds` (the job's time limit, with margin). */
  async issue(jobId: string, ttlSeconds: number): Promise<string> {
    const token = randomBytes(32).toString('hex');
    const hash = hashOf(token);
    const old = await this.redis.get(this.keys.jobToken(jobId));
    const tx = this.redis.multi();
    if (old) tx.del(this.keys.token(old));
    tx.set(this.keys.token(hash), jobId, 'EX', ttlSeconds).set(this.keys.jobToken(jobId), hash, 'EX', ttlSeconds);
    await tx.exec();
    return token;
  }

  /** The job a token belongs to, or undefined (unknown, revoked, expired). */
  async jobOf(token: string): Promise<string | undefined> {
    if (!TOKEN_PATTERN.test(token)) return undefined;
    const hash = hashOf(token);
    const jobId = await this.redis.get(this.keys.token(hash));
    if (!jobId) return undefined;
    // The reverse entry must still name this very token (a re-issued token replaces the old one).
    const current = await this.redis.get(this.keys.jobToken(jobId));
    if (!current || !timingSafeEqual(Buffer.from(current), Buffer.from(hash))) return undefined;
    return jobId;
  }

  /** Deletes the job's token and tells every replica to cancel its requests. */
  async revoke(jobId: string): Promise<void> {
    const hash = await this.redis.get(this.keys.jobToken(jobId));
    const tx = this.redis.multi().del(this.keys.jobToken(jobId));
    if (hash) tx.del(this.keys.token(hash));
    tx.publish(this.keys.revoked, jobId);
    await tx.exec();
  }
}
