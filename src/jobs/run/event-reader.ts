// Reads one job's event stream from a cursor with blocking reads (shared/stream-tail.ts),
// on a connection of its own so that the block never holds up other commands.
// Each entry is checked against the event schema; one that is too big is not
// even parsed, so an agent that writes huge entries cannot stall the relay.
import type { Redis } from 'ioredis';
import { MAX_EVENT_ENTRY, parseAgentEvent, type AgentEvent } from '../../domain/events.js';
import { fieldOf, StreamTail } from '../../shared/stream-tail.js';

export type StreamEntry = { id: string; event: AgentEvent } | { id: string; error: string; oversized?: boolean };

export class EventReader {
  private readonly tail: StreamTail;

  constructor(redis: Redis, streamKey: string, cursor: string) {
    this.tail = new StreamTail(redis, streamKey, cursor);
  }

  get position(): string {
    return this.tail.position;
  }

  /** Waits up to `blockMs` for entries after the cursor (0: don't wait). */
  async read(blockMs: number, count = 100): Promise<StreamEntry[]> {
    return (await this.tail.read(blockMs, count)).map(({ id, fields }): StreamEntry => {
      const raw = fieldOf(fields, 'e');
      if (raw !== undefined && raw.length > MAX_EVENT_ENTRY) {
        return { id, error: `entry of ${raw.length} characters is over the ${MAX_EVENT_ENTRY} limit`, oversized: true };
      }
      const parsed = parseAgentEvent(raw);
      return parsed.ok ? { id, event: parsed.event } : { id, error: parsed.error };
    });
  }

  /** Ends a blocking read in progress. */
  close(): void {
    this.tail.close();
  }
}
