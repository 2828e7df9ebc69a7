// Reads control messages (cancel, answers) addressed to this job, with
// blocking reads on a connection of its own.
import type { Redis } from 'ioredis';
import { parseControlMessage, type ControlMessage } from '../domain/events.js';

const BLOCK_MS = 5000;
const NO_ANSWER_MS = 10_000;

export class ControlListener {
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly streamKey: string,
    private readonly onMessage: (msg: ControlMessage) => void,
  ) {}

  async run(): Promise<void> {
    let cursor = '0';
    while (!this.stopped) {
      let reply: [string, [string, string[]][]][] | null;
      // A read that outlives its block by far sits on a dead connection (a partition that drops packets): make a new one.
      // (The read in flight is sent again on the new connection, and answers there.)
      const watchdog = setInterval(() => this.redis.disconnect(true), BLOCK_MS + NO_ANSWER_MS);
      try {
        reply = (await this.redis.xread('BLOCK', BLOCK_MS, 'STREAMS', this.streamKey, cursor)) as typeof reply;
      } catch {
        if (this.stopped) return;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      } finally {
        clearInterval(watchdog);
      }
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          cursor = id;
          const idx = fields.indexOf('m');
          const msg = parseControlMessage(idx >= 0 ? fields[idx + 1] : undefined);
          if (msg) this.onMessage(msg);
        }
      }
    }
  }

  /** Interrupts the blocking read. */
  close(): void {
    this.stopped = true;
    this.redis.disconnect();
  }
}
