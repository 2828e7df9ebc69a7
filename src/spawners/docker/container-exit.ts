// Following an agent container to its end without mistaking a lost connection
// for an exit (issue 11). Docker's `wait` is a long poll on the engine's
// socket: an engine restart or a dropped socket ends it with an error, or,
// while the daemon shuts down, with `StatusCode: -1` and "context canceled".
// Neither means the agent stopped, and a job that believes it would free its
// channel while the agent still runs. So:
//   - every end of a `wait` is checked with `inspect` before it is believed;
//   - while the engine does not answer, we ask again with back-off, for as
//     long as it takes (the promise stays pending; it never guesses);
//   - a periodic `inspect` catches a wait that went silent (a connection that
//     hangs instead of breaking) and re-attaches after the engine was away.
// Pure of dockerode: the spawner hands in `wait` and `inspect`, so the rules
// are unit-tested as a table of engine answers.
import type { Logger } from '../../observability/logger.js';
import type { AgentExit } from '../spawner.js';
import { pause } from '../../shared/pause.js';
import { retryWhileUnreachable } from '../../shared/retry.js';
import { signalWords } from '../exit-words.js';

export type WaitCondition = 'next-exit' | 'not-running';

/** What `inspect` says about the container, or `gone` for a 404. */
export type ContainerLook = { status: string; running: boolean; exitCode: number; oomKilled?: boolean } | 'gone';

export interface WaitAnswer {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

export interface ExitProbe {
  /** The engine's long poll; rejects when the connection is lost or `signal` aborts. */
  wait(condition: WaitCondition, signal: AbortSignal): Promise<WaitAnswer>;
  /** The container now; `gone` on 404; rejects when the engine does not answer. */
  inspect(): Promise<ContainerLook>;
}

export interface ExitFollowOptions {
  /** `next-exit` when the wait is registered before `start` (AutoRemove); else `not-running`. */
  condition: WaitCondition;
  /** How often a pending wait is checked with `inspect`. */
  checkEveryMs: number;
  /** Back-off while the engine does not answer: first delay, doubling up to the cap. */
  backoff: { firstMs: number; maxMs: number };
  /** Stops following (the spawner closed, or the start was abandoned): the exit then never resolves. */
  signal: AbortSignal;
  log: Logger;
}

/** States in which the container has not ended: `created` is about to be started. */
const NOT_ENDED = new Set(['created', 'running', 'restarting', 'paused']);

/**
 * What a look (and the wait's answer, when there was one) says: an exit, or
 * the condition to wait on again because the container has not ended.
 */
export function exitVerdict(look: ContainerLook, answer?: WaitAnswer): AgentExit | { waitAgain: WaitCondition } {
  // A wait that ended on the daemon's side without an exit (shutdown, cancelled context) says -1.
  const trusted = answer && answer.StatusCode >= 0 ? answer : undefined;
  if (look === 'gone') {
    // AutoRemove removed it: it ended. Its code is known only from a wait that saw the end.
    return trusted
      ? { exitCode: trusted.StatusCode, detail: trusted.Error?.Message || signalWords(trusted.StatusCode) }
      : { exitCode: null, detail: 'the container ended and was removed while the engine could not be asked; its exit code is unknown' };
  }
  if (look.running || NOT_ENDED.has(look.status)) return { waitAgain: look.status === 'created' ? 'next-exit' : 'not-running' };
  const exitCode = trusted ? trusted.StatusCode : look.exitCode;
  if (look.oomKilled) return { exitCode, detail: "the agent ran out of memory (OOMKilled): raise the project's resources.memory" };
  return { exitCode, detail: trusted?.Error?.Message || signalWords(exitCode) };
}

type Outcome = { kind: 'answer'; answer: WaitAnswer } | { kind: 'look'; look: ContainerLook } | { kind: 'lost'; err: unknown };

/** Resolves with the container's real exit; stays pending while that cannot be known. */
export async function followExit(probe: ExitProbe, options: ExitFollowOptions): Promise<AgentExit> {
  const { signal, log } = options;
  let condition = options.condition;
  let delay = options.backoff.firstMs;
  let lostSince: number | undefined;
  while (!signal.aborted) {
    const outcome = await waitOrLook(probe, condition, options);
    if (signal.aborted) break;
    let look: ContainerLook | undefined;
    if (outcome.kind === 'look') look = outcome.look;
    else {
      if (outcome.kind === 'lost' && lostSince === undefined) {
        lostSince = Date.now();
        log.warn({ err: outcome.err }, 'lost the wait on the agent container: asking the engine whether it still runs');
      }
      look = await lookUntilAnswered(probe, options);
      if (!look) break;
    }
    const verdict = exitVerdict(look, outcome.kind === 'answer' ? outcome.answer : undefined);
    if (!('waitAgain' in verdict)) {
      if (lostSince !== undefined) log.info({ exit: verdict }, 'the agent container ended while its wait was lost; the engine says how');
      return verdict;
    }
    if (outcome.kind === 'answer') {
      // The engine ended the wait though the container runs (a daemon shutting down): wait again, not in a tight loop.
      log.warn(
        { answer: outcome.answer, state: look !== 'gone' ? look.status : 'gone' },
        'the engine ended the wait but the agent container still runs: waiting again',
      );
      await pause(delay, signal);
      delay = Math.min(delay * 2, options.backoff.maxMs);
    } else if (lostSince !== undefined) {
      log.info({ lostForMs: Date.now() - lostSince }, 're-attached to the agent container: it still runs');
      lostSince = undefined;
      delay = options.backoff.firstMs;
    }
    condition = verdict.waitAgain;
  }
  // Following was stopped: nobody learns an exit that did not happen.
  return new Promise<AgentExit>(() => undefined);
}

/** One wait, checked every `checkEveryMs` with inspect; whichever tells first. */
async function waitOrLook(probe: ExitProbe, condition: WaitCondition, options: ExitFollowOptions): Promise<Outcome> {
  const control = new AbortController();
  const stop = () => control.abort();
  options.signal.addEventListener('abort', stop, { once: true });
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const waited = probe.wait(condition, control.signal).then(
      (answer): Outcome => ({ kind: 'answer', answer }),
      (err: unknown): Outcome => ({ kind: 'lost', err }),
    );
    const looked = new Promise<Outcome>((resolve) => {
      const tick = () => {
        timer = setTimeout(() => {
          probe.inspect().then(
            (look) => {
              if (settled) return;
              if (look === 'gone' || !('waitAgain' in exitVerdict(look))) resolve({ kind: 'look', look });
              else tick();
            },
            // The engine stopped answering: the wait's connection is suspect too.
            (err: unknown) => resolve({ kind: 'lost', err }),
          );
        }, options.checkEveryMs);
      };
      tick();
    });
    return await Promise.race([waited, looked]);
  } finally {
    settled = true;
    clearTimeout(timer);
    control.abort();
    options.signal.removeEventListener('abort', stop);
  }
}

/** Inspects until the engine answers (back-off, one warning per outage); undefined when following stopped. */
async function lookUntilAnswered(probe: ExitProbe, options: ExitFollowOptions): Promise<ContainerLook | undefined> {
  const { signal, log, backoff } = options;
  try {
    return await retryWhileUnreachable(() => probe.inspect(), { peer: 'the Docker engine', log, backoff, signal });
  } catch (err) {
    if (signal.aborted) return undefined;
    throw err;
  }
}
