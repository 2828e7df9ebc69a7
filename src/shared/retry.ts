// Retry while a peer does not answer (the Docker engine, the Kubernetes API):
// the attempt runs again with back-off, doubling up to a cap, until it gets an
// answer, its time budget is spent, or its owner closes. An outage is said
// once ("… does not answer") and its end once ("… answers again"), whatever
// the number of tries. Only errors that mean "no answer" are retried: a
// refusal is an answer, and is thrown at once.
import type { Logger } from '../observability/logger.js';
import { pause } from './pause.js';

export interface RetryWhileUnreachableOptions {
  /** Who may not answer, as the log says it: "the Docker engine". */
  peer: string;
  /** What is being tried, as the log says it: "start the agent"; unset: the log says "asking again". */
  what?: string;
  log: Logger;
  backoff: { firstMs: number; maxMs: number };
  /** Gives up once this long has passed since the first try; default never. */
  budgetMs?: number;
  /** Gives up when aborted (its owner closes). */
  signal?: AbortSignal;
  /** Which errors mean "no answer"; others are thrown at once. Default: every error. */
  isUnreachable?: (err: unknown) => boolean;
  /** What is thrown on giving up, from the last error and how long was tried; default the last error. */
  giveUp?: (err: unknown, waitedMs: number) => unknown;
}

export async function retryWhileUnreachable<T>(attempt: () => Promise<T>, o: RetryWhileUnreachableOptions): Promise<T> {
  const began = Date.now();
  const budget = o.budgetMs ?? Infinity;
  const never = new AbortController().signal;
  let delay = o.backoff.firstMs;
  let warned = false;
  for (;;) {
    try {
      const result = await attempt();
      if (warned)
        o.log.info({ afterMs: Date.now() - began }, o.what ? `${o.peer} answers again: could ${o.what}` : `${o.peer} answers again`);
      return result;
    } catch (err) {
      if (o.isUnreachable && !o.isUnreachable(err)) throw err;
      const waited = Date.now() - began;
      if (waited + delay > budget || o.signal?.aborted) throw o.giveUp ? o.giveUp(err, waited) : err;
      if (!warned) {
        const says = o.what ? `will try to ${o.what} again with back-off` : 'asking again with back-off until it does';
        o.log.warn({ err, ...(o.budgetMs !== undefined ? { retryForMs: o.budgetMs } : {}) }, `${o.peer} does not answer: ${says}`);
      }
      warned = true;
      await pause(delay, o.signal ?? never);
      delay = Math.min(delay * 2, o.backoff.maxMs);
    }
  }
}
