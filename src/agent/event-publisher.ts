// Writes the runner's events to the job's stream, stamped with the envelope
// fields and checked against the shared schema before they leave.
//
// Through a Redis outage (a restart, a partition) events wait in a bounded
// buffer, in order, and are written when Redis is back: the runner goes on
// with its work instead of failing at its next step and losing its result.
import type { Redis } from 'ioredis';
import { agentEventSchema, EVENT_SCHEMA_VERSION, isTerminal, type AgentEvent, type AgentEventBody } from '../domain/events.js';
import type { Keys } from '../domain/keys.js';
import { isRedisUnavailable } from '../errors.js';

import { STREAM_MAXLEN, STREAM_TTL_SECONDS } from '../domain/agent-contract.js';
const EXPIRE_EVERY = 50;

export interface PublisherOptions {
  /** Events kept while Redis is away; past it the oldest `log` events go first (counted). Default 2000. */
  maxBuffered?: number;
  /** First wait before writing again after a failure; doubles up to maxRetryMs. Defaults 250 ms, 5 s. */
  retryMs?: number;
  maxRetryMs?: number;
  /**
   * A write with no answer for this long means a dead connection (a partition
   * that drops packets never closes it): the connection is made again, and the
   * write goes out on the new one. Default 10 s.
   */
  attemptTimeoutMs?: number;
  /** The runner's log (the container's stderr). */
  log?: (msg: string) => void;
}

interface Pending {
  event: AgentEvent;
  /** Resolves publish(): written, or buffered because Redis is away. */
  settle: () => void;
}

export class EventPublisher {
  private seq = 0;
  private readonly buffer: Pending[] = [];
  private flushing?: Promise<void>;
  /** Writes are failing: publish() returns at once, the flusher keeps trying. */
  private away = false;
  private droppedLogs = 0;
  private readonly o: Required<Omit<PublisherOptions, 'log'>> & Pick<PublisherOptions, 'log'>;
  private idle: (() => void)[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly jobId: string,
    options: PublisherOptions = {},
  ) {
    this.o = { maxBuffered: 2000, retryMs: 250, maxRetryMs: 5000, attemptTimeoutMs: 10_000, ...options };
  }

  /** `log` events dropped because the buffer was full during an outage. */
  get dropped(): number {
    return this.droppedLogs;
  }

  /** Events not written yet. */
  get buffered(): number {
    return this.buffer.length;
  }

  /**
   * Resolves once the event is written, or at once while Redis is away (it
   * waits in the buffer). Rejects only for an event that breaks the schema.
   */
  async publish(body: AgentEventBody): Promise<void> {
    const event = agentEventSchema.parse({ ...body, v: EVENT_SCHEMA_VERSION, jobId: this.jobId, seq: this.seq++, ts: Date.now() });
    const written = new Promise<void>((settle) => {
      if (this.buffer.length >= this.o.maxBuffered) this.dropOldestLog();
      this.buffer.push({ event, settle });
    });
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
    if (this.away) return;
    await written;
  }

  /** Waits until every buffered event is written, at most `timeoutMs`; false when some were not. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.buffer.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<true>((resolve) => this.idle.push(() => resolve(true))),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return done;
  }

  private dropOldestLog(): void {
    const at = this.buffer.findIndex((p, i) => i > 0 && p.event.type === 'log');
    if (at < 0) return; // only progress, questions and results: they are few and never dropped
    this.buffer.splice(at, 1)[0]?.settle();
    this.droppedLogs++;
  }

  private async flush(): Promise<void> {
    let wait = this.o.retryMs;
    for (let head = this.buffer[0]; head; head = this.buffer[0]) {
      // No answer for a while (a partition that drops packets): the runner goes on, the write keeps waiting.
      const slow = setTimeout(() => this.goAway(`no answer within ${this.o.attemptTimeoutMs} ms`), this.o.attemptTimeoutMs);
      try {
        await this.write(head.event);
      } catch (err) {
        if (!isRedisUnavailable(err)) {
          // Refused, not unreachable (NOPERM: the job's Redis user is gone with the job): retrying cannot help.
          this.o.log?.(`event ${head.event.seq} (${head.event.type}) could not be written and is dropped: ${(err as Error).message}`);
          this.buffer.shift();
          head.settle();
          continue;
        }
        this.goAway((err as Error).message);
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(this.o.maxRetryMs, wait * 2);
        continue;
      } finally {
        clearTimeout(slow);
      }
      this.buffer.shift();
      head.settle();
      wait = this.o.retryMs;
      if (this.away && this.buffer.length === 0) {
        this.away = false;
        this.o.log?.(
          `Redis is back: the buffered events were written${this.droppedLogs ? ` (${this.droppedLogs} log events were dropped while it was away)` : ''}`,
        );
      }
    }
    for (const wake of this.idle.splice(0)) wake();
  }

  /** Writes are failing or hanging: publish() stops waiting for them (said once per outage). */
  private goAway(why: string): void {
    if (this.away) return;
    this.away = true;
    this.o.log?.(`Redis is unreachable (${why}): events wait in a buffer (up to ${this.o.maxBuffered}) until it is back`);
    for (const p of this.buffer) p.settle();
  }

  private async write(event: AgentEvent): Promise<void> {
    const key = this.keys.jobEvents(this.jobId);
    const xadd = this.redis.xadd(key, 'MAXLEN', '~', STREAM_MAXLEN, '*', 'e', JSON.stringify(event));
    // The TTL only needs setting now and then; MULTI per event costs more than the XADD (bench/event-relay).
    const expire = event.seq % EXPIRE_EVERY === 0 || isTerminal(event) ? this.redis.expire(key, STREAM_TTL_SECONDS) : undefined;
    // A connection that stopped answering without closing (a partition that drops packets): make a new one.
    // The write in flight is sent again on it by ioredis, so it is awaited, never sent twice by us.
    const watchdog = setInterval(() => this.redis.disconnect(true), this.o.attemptTimeoutMs);
    try {
      await Promise.all([xadd, expire]);
    } finally {
      clearInterval(watchdog);
    }
  }
}
