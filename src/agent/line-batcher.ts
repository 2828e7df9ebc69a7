/**
 * Collects output lines and hands them over in batches, so a chatty agent
 * produces a few events a second rather than one per line. A batch also ends
 * before it would pass `maxChars` (joined with newlines), so long lines never
 * push the lines after them past the event text cap.
 */
export class LineBatcher {
  private lines: string[] = [];
  private chars = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly flushTo: (lines: string[]) => void,
    private readonly everyMs = 500,
    private readonly maxLines = 50,
    private readonly maxChars = Infinity,
  ) {}

  add(line: string): void {
    if (this.lines.length > 0 && this.chars + 1 + line.length > this.maxChars) this.flush();
    this.chars += (this.lines.length > 0 ? 1 : 0) + line.length;
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
    this.chars = 0;
    this.flushTo(batch);
  }
}
