// "At least once, handled once": a piece of work (a Slack delivery, a job's
// result announcement) is claimed with a short in-progress lease before it is
// handled, and marked done only after it was handled. A replica that dies
// half-way lets its lease lapse, so a redelivery (or another replica) handles
// it again; a repeat after `done` is recognised and skipped. The lease is
// renewed while the work runs, so slow work is never taken twice.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

const DONE = 'done';

/**
 * Takes a free key for one worker.
 * KEYS[1] the key · ARGV[1] the worker's token · ARGV[2] lease (ms)
 * Returns nil when taken, else the current value ('done' or another worker's token).
 */
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return false`;

/**
 * Renews (ARGV[2] = lease ms) or, with ARGV[2] = 0, deletes the key if this worker still holds it.
 * KEYS[1] the key · ARGV[1] the worker's token · ARGV[2] lease (ms) or 0
 * Returns 1 when the worker held it, else 0.
 */
const HOLDER_ONLY = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) == 0 then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) end
return 1`;

export interface Claim {
  /** Handled: a repeat within `rememberSeconds` is skipped. Stops the renewal. */
  done(rememberSeconds: number): Promise<void>;
  /** Not handled after all (it failed): the next delivery may take it at once. Stops the renewal. */
  release(): Promise<void>;
}

export type ClaimOutcome =
  | { kind: 'claimed'; claim: Claim }
  /** Handled before: skip it. */
  | { kind: 'done' }
  /** Another worker is handling it now (its lease runs): skip it; if that worker dies, a later repeat is handled. */
  | { kind: 'in-progress'; holder: string };

/** Who holds a lease, in the key's value (for an operator reading Redis): host, pid and a random part. */
export function workerToken(): string {
  return `working:${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

export class HandledOnce {
  constructor(
    private readonly redis: Redis,
    /** In-progress lease; renewed at a third of it while the work runs. */
    private readonly leaseMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  async claim(key: string): Promise<ClaimOutcome> {
    const token = workerToken();
    const current = (await this.redis.eval(CLAIM, 1, key, token, this.leaseMs)) as string | null;
    if (current === DONE) return { kind: 'done' };
    if (current !== null) return { kind: 'in-progress', holder: current };
    let ended = false;
    const renewal = setInterval(
      () => {
        void this.redis.eval(HOLDER_ONLY, 1, key, token, this.leaseMs).catch((err: unknown) => this.onError(err));
      },
      Math.max(1, Math.floor(this.leaseMs / 3)),
    );
    renewal.unref();
    const end = () => {
      ended = true;
      clearInterval(renewal);
    };
    return {
      kind: 'claimed',
      claim: {
        done: async (rememberSeconds) => {
          if (ended) return;
          end();
          await this.redis.set(key, DONE, 'EX', Math.max(1, Math.ceil(rememberSeconds)));
        },
        release: async () => {
          if (ended) return;
          end();
          await this.redis.eval(HOLDER_ONLY, 1, key, token, 0);
        },
      },
    };
  }
}
