// Follows a Redis stream from a cursor with blocking reads (XREAD BLOCK, no
// polling), on a connection of the caller's that nothing else waits on. A read
// that outlives its block by far sits on a dead connection (a partition that
// drops packets leaves it open and unanswered): the connection is made again
// and that read fails; the cursor has not moved, so the next read loses nothing.
// Used by the relay (an agent's events), the runner (its control messages)
// and the local chat page (its feed).
import type { Redis } from 'ioredis';

export interface StreamEntry {
  id: string;
  /** The entry's fields and values, in turn: [field, value, field, value…]. */
  fields: string[];
}

type XReadReply = [string, [string, string[]][]][] | null;

/** How long past its block a read may go unanswered before its connection counts as dead; default 5 s. */
const DEFAULT_NO_ANSWER_MS = 5000;

export class StreamTail {
  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private cursor: string,
    private readonly noAnswerMs = DEFAULT_NO_ANSWER_MS,
  ) {}

  /** The id of the last entry read ('0' or '$' before any). */
  get position(): string {
    return this.cursor;
  }

  /** Entries after the cursor, waiting up to `blockMs` for the first (0: don't wait); the cursor moves past them. */
  async read(blockMs: number, count = 100): Promise<StreamEntry[]> {
    const pending =
      blockMs > 0
        ? this.redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.key, this.cursor)
        : this.redis.xread('COUNT', count, 'STREAMS', this.key, this.cursor);
    let timer: NodeJS.Timeout | undefined;
    const reply = (await Promise.race([
      pending,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          this.redis.disconnect(true);
          reject(new Error(`Redis did not answer a read of ${this.key} within ${blockMs + this.noAnswerMs} ms: reconnecting`));
        }, blockMs + this.noAnswerMs);
      }),
    ]).finally(() => clearTimeout(timer))) as XReadReply;
    const out: StreamEntry[] = [];
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        this.cursor = id;
        out.push({ id, fields });
      }
    }
    return out;
  }

  /** Ends a blocking read in progress (its connection closes). */
  close(): void {
    this.redis.disconnect();
  }
}

/** The value of `name` in an entry's fields; undefined when it has none. */
export function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
