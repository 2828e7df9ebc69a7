// Reads one job's event stream from a cursor with blocking reads (no polling),
// on a connection of its own so that the block never holds up other commands.
import type { Redis } from 'ioredis';
import { MAX_EVENT_ENTRY, parseAgentEvent, type AgentEvent } from '../../domain/events.js';

export type StreamEntry = { id: string; event: AgentEvent } | { id: string; error: string; oversized?: boolean };

type XReadReply = [string, [string, string[]][]][] | null;

/** How long past its block a read may go unanswered before its connection counts as dead. */
const NO_ANSWER_MS = 5000;

export class EventReader {
  constructor(
    private readonly redis: Redis,
    private readonly streamKey: string,
    private cursor: string,
  ) {}

  get position(): string {
    return this.cursor;
  }

  /** Waits up to `blockMs` for entries after the cursor (0: don't wait). */
  async read(blockMs: number, count = 100): Promise<StreamEntry[]> {
    const pending =
      blockMs > 0
        ? this.redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.streamKey, this.cursor)
        : this.redis.xread('COUNT', count, 'STREAMS', this.streamKey, this.cursor);
    // A partition that drops packets leaves the connection open and the read unanswered for ever: after a
    // while it is made again, and this read fails (the caller retries; the cursor has not moved).
    let timer: NodeJS.Timeout | undefined;
    const reply = (await Promise.race([
      pending,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          this.redis.disconnect(true);
          reject(new Error(`Redis did not answer a read of ${this.streamKey} within ${blockMs + NO_ANSWER_MS} ms: reconnecting`));
        }, blockMs + NO_ANSWER_MS);
      }),
    ]).finally(() => clearTimeout(timer))) as XReadReply;
    const out: StreamEntry[] = [];
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        this.cursor = id;
        const at = fields.indexOf('e');
        const raw = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
        // Not even parsed: an agent that writes huge entries must not stall the relay.
        if (raw !== undefined && raw.length > MAX_EVENT_ENTRY) {
          out.push({ id, error: `entry of ${raw.length} characters is over the ${MAX_EVENT_ENTRY} limit`, oversized: true });
          continue;
        }
        const parsed = parseAgentEvent(raw);
        out.push(parsed.ok ? { id, event: parsed.event } : { id, error: parsed.error });
      }
    }
    return out;
  }

  /** Ends a blocking read in progress. */
  close(): void {
    this.redis.disconnect();
  }
}
