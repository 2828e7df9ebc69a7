// "At least once, handled once": a piece of work (a Slack delivery, a job's
// result announcement) is claimed with a short in-progress lease before it is
// handled, and marked done only after it was handled. A replica that dies
// half-way lets its lease lapse, so a redelivery (or another replica) handles
// it again; a repeat after `done` is recognised and skipped. The lease is
// renewed while the work runs, so slow work is never taken twice.
import { hostname } from 'node:os';
import { luaScript } from '../shared/lua.js';
import { releaseOwned, renewOwned } from './owner-lease.js';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

const DONE = 'done';

const CLAIM = luaScript(import.meta.url, 'handled-once-claim.lua');

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
        void renewOwned(this.redis, [{ key, owner: token, leaseMs: this.leaseMs }]).catch((err: unknown) => this.onError(err));
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
          await releaseOwned(this.redis, key, token);
        },
      },
    };
  }
}
