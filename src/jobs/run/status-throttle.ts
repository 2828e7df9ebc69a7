// Coalesces status updates per job: at most one update every interval (a
// fixed minimum, or the job's fair share of the workspace budget), always the
// newest state, and the final state always goes out, last.
//
// Never more than one regular send at a time: while a send is in flight (Slack
// slow, budget exhausted) new states only replace the one pending state. So
// after a stalled send at most two more go out: the newest state and the final
// one. The final state is handed over at once, even while a send is in flight:
// the notifier keeps one job's updates in order (SlackDelivery runs one call
// per message at a time, and a final state replaces an update still waiting
// for the budget instead of queueing behind it).
import type { JobRecord } from '../../domain/job.js';
import type { Logger } from '../../observability/logger.js';

export interface SendInfo {
  /** When the oldest change this state shows was offered (for staleness). */
  changedAt: number;
  final: boolean;
}

export class StatusThrottle {
  private pending?: JobRecord;
  /** When the oldest state not yet handed to send() was offered. */
  private pendingSince?: number;
  private lastSentAt = 0;
  private timer?: NodeJS.Timeout;
  private sending?: Promise<void>;
  private done = false;
  private readonly interval: () => number;

  constructor(
    private readonly send: (job: JobRecord, info: SendInfo) => Promise<void>,
    minInterval: number | (() => number),
    private readonly log: Logger,
    /** Called once, after final() or cancel(). */
    private readonly onClose: () => void = () => undefined,
  ) {
    this.interval = typeof minInterval === 'number' ? () => minInterval : minInterval;
  }

  /** Asks for `job` to be shown; sends now or when the interval allows. */
  offer(job: JobRecord): void {
    if (this.done) return;
    this.pending = job;
    this.pendingSince ??= Date.now();
    this.schedule();
  }

  /** Sends `job` now, dropping whatever was pending, and stops further updates. */
  async final(job: JobRecord): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    const changedAt = this.pendingSince ?? Date.now();
    this.pending = undefined;
    this.pendingSince = undefined;
    this.lastSentAt = Date.now();
    try {
      await this.send(job, { changedAt, final: true });
    } catch (err) {
      this.log.warn({ err }, 'could not show the final state in the status message');
    } finally {
      this.onClose();
    }
  }

  /** Drops anything pending (shutdown: the next replica re-renders from Redis). */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    this.pending = undefined;
    this.onClose();
  }

  private schedule(): void {
    if (this.timer || this.sending || !this.pending || this.done) return;
    const wait = Math.max(0, this.lastSentAt + this.interval() - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sendPending();
    }, wait);
  }

  private sendPending(): void {
    const job = this.pending;
    const changedAt = this.pendingSince ?? Date.now();
    if (!job || this.done) return;
    this.pending = undefined;
    this.pendingSince = undefined;
    this.lastSentAt = Date.now();
    this.sending = this.send(job, { changedAt, final: false })
      .catch((err: unknown) => this.log.warn({ err }, 'could not update the status message'))
      .finally(() => {
        this.sending = undefined;
        this.schedule();
      });
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
