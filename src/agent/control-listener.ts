// Reads control messages (cancel, answers) addressed to this job, with
// blocking reads on a connection of its own.
import type { Redis } from 'ioredis';
import { parseControlMessage, type ControlMessage } from '../domain/events.js';

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
      try {
        reply = (await this.redis.xread('BLOCK', 5000, 'STREAMS', this.streamKey, cursor)) as typeof reply;
      } catch {
        if (this.stopped) return;
        await new Promise((r) => setTimeout(r, 500));
        continue;
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
