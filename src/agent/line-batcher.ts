/**
 * Collects output lines and hands them over in batches, so a chatty agent
 * produces a few events a second rather than one per line. A batch also ends
 * before it would pass `maxChars` (joined with newlines), so long lines never
 * push the lines after them past the event text cap.
 *
 * With a rate (`batchesPerSecond`, a token bucket of `burst` batches), an
 * agent that floods (10,000 lines a second) is capped: while no batch may go,
 * the pending batch fills up to `maxLines` and every line past it is dropped
 * and counted; the next batch carries the count of lines dropped before it.
 * `flush()` (the end of the output) always goes, so the count is complete
 * before the job's final event.
 */
export interface BatchRate {
  batchesPerSecond: number;
  burst: number;
}

export class LineBatcher {
  private lines: string[] = [];
  private chars = 0;
  private timer?: NodeJS.Timeout;
  private dropped = 0;
  private tokens: number;
  private refilledAt = Date.now();

  constructor(
    /** `dropped`: lines dropped since the previous batch (only with a rate). */
    private readonly flushTo: (lines: string[], dropped: number) => void,
    private readonly everyMs = 500,
    private readonly maxLines = 50,
    private readonly maxChars = Infinity,
    private readonly rate?: BatchRate,
  ) {
    this.tokens = rate?.burst ?? Infinity;
  }

  add(line: string): void {
    if (this.lines.length > 0 && this.chars + 1 + line.length > this.maxChars && !this.send(false)) return this.drop();
    if (this.lines.length >= this.maxLines && !this.send(false)) return this.drop();
    this.chars += (this.lines.length > 0 ? 1 : 0) + line.length;
    this.lines.push(line);
    if (this.lines.length >= this.maxLines) this.send(false);
    else this.timer ??= setTimeout(() => this.onTimer(), this.everyMs);
  }

  /** Hands over what is pending now, whatever the rate. */
  flush(): void {
    this.send(true);
  }

  private drop(): void {
    this.dropped += 1;
    this.timer ??= setTimeout(() => this.onTimer(), this.waitMs());
  }

  private onTimer(): void {
    this.timer = undefined;
    if (!this.send(false) && this.lines.length > 0) this.timer = setTimeout(() => this.onTimer(), this.waitMs());
  }

  /** Sends the pending batch if the rate allows (or `force`); false when it had to wait. */
  private send(force: boolean): boolean {
    if (this.lines.length === 0) return true;
    if (!force && !this.takeToken()) return false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.lines;
    const dropped = this.dropped;
    this.lines = [];
    this.chars = 0;
    this.dropped = 0;
    this.flushTo(batch, dropped);
    return true;
  }

  private takeToken(): boolean {
    if (!this.rate) return true;
    const now = Date.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.rate.batchesPerSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Until the next batch may go. */
  private waitMs(): number {
    if (!this.rate) return this.everyMs;
    return Math.max(this.everyMs, Math.ceil(((1 - this.tokens) / this.rate.batchesPerSecond) * 1000));
  }
}
