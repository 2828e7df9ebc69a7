// A logger whose lines a test can await ("the spawner has seen the engine go"),
// so a test waits for the event it needs instead of sleeping.
import { createLogger, type Logger } from '../../src/observability/logger.js';

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export class LogTap {
  readonly lines: LogLine[] = [];
  private readonly waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  readonly logger: Logger = createLogger('debug', {
    write: (chunk: string) => {
      for (const text of chunk.split('\n').filter(Boolean)) {
        const line = JSON.parse(text) as LogLine;
        this.lines.push(line);
        for (const w of this.waiters) {
          if (w.match(line)) {
            this.waiters.delete(w);
            w.resolve(line);
          }
        }
      }
    },
  });

  /** Lines seen so far whose message matches. */
  seen(msg: RegExp): LogLine[] {
    return this.lines.filter((l) => msg.test(l.msg));
  }

  /** The next line (from `from` on, default: any seen so far) whose message matches; fails after `timeoutMs`. */
  next(msg: RegExp, { from = 0, timeoutMs = 20_000 }: { from?: number; timeoutMs?: number } = {}): Promise<LogLine> {
    const match = (l: LogLine) => msg.test(l.msg);
    const already = this.lines.slice(from).find(match);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (l: LogLine) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `no log line matching ${msg} within ${timeoutMs} ms; last lines:\n${this.lines
              .slice(-8)
              .map((l) => JSON.stringify(l))
              .join('\n')}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** A mark to pass as `from`: only lines after now count. */
  mark(): number {
    return this.lines.length;
  }
}
