/**
 * Collects output lines and hands them over in batches, so a chatty agent
 * produces a few events a second rather than one per line.
 */
export class LineBatcher {
  private lines: string[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly flushTo: (lines: string[]) => void,
    private readonly everyMs = 500,
    private readonly maxLines = 50,
  ) {}

  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length >= this.maxLines) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.everyMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const batch = this.lines;
    this.lines = [];
    this.flushTo(batch);
  }
}
