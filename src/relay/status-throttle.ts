// Coalesces status updates per job: at most one update every `minIntervalMs`,
// always the newest state, and the final state always goes out. This keeps a
// busy agent from spending the workspace's chat.update budget.
import type { JobRecord } from '../domain/job.js';
import type { Logger } from '../observability/logger.js';

export class StatusThrottle {
  private latest?: JobRecord;
  private lastSentAt = 0;
  private timer?: NodeJS.Timeout;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: (job: JobRecord) => Promise<void>,
    private readonly minIntervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Asks for `job` to be shown; sends now or after the interval, whichever the budget allows. */
  offer(job: JobRecord): void {
    this.latest = job;
    if (this.timer) return;
    const wait = Math.max(0, this.lastSentAt + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sendLatest();
    }, wait);
  }

  /** Sends `job` now (after any update in flight) and stops further updates. */
  async final(job: JobRecord): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.latest = job;
    this.sendLatest();
    await this.inFlight;
  }

  /** Drops anything pending (shutdown: the next replica re-renders from Redis). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.latest = undefined;
  }

  private sendLatest(): void {
    const job = this.latest;
    if (!job) return;
    this.latest = undefined;
    this.lastSentAt = Date.now();
    this.inFlight = this.inFlight
      .then(() => this.send(job))
      .catch((err: unknown) => this.log.warn({ err }, 'could not update the status message'));
  }
}
