// Reads control messages (cancel, answers) addressed to this job, with
// blocking reads (shared/stream-tail.ts) on a connection of its own.
import type { Redis } from 'ioredis';
import { parseControlMessage, type ControlMessage } from '../domain/events.js';
import { fieldOf, StreamTail } from '../shared/stream-tail.js';

const BLOCK_MS = 5000;
/** A read unanswered this long past its block sits on a dead connection: it is made again. */
const NO_ANSWER_MS = 10_000;
const RETRY_MS = 500;

export class ControlListener {
  private stopped = false;
  private readonly tail: StreamTail;

  constructor(
    redis: Redis,
    streamKey: string,
    private readonly onMessage: (msg: ControlMessage) => void,
  ) {
    this.tail = new StreamTail(redis, streamKey, '0', NO_ANSWER_MS);
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      let entries;
      try {
        entries = await this.tail.read(BLOCK_MS);
      } catch {
        // Redis is away or the connection was made again: read again shortly, from the same cursor.
        if (this.stopped) return;
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      for (const { fields } of entries) {
        const msg = parseControlMessage(fieldOf(fields, 'm'));
        if (msg) this.onMessage(msg);
      }
    }
  }

  /** Interrupts the blocking read. */
  close(): void {
    this.stopped = true;
    this.tail.close();
  }
}
