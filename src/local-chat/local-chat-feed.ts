// Live updates of the local chat page: every post and update, as
// Server-Sent Events read from the feed stream with blocking reads on a
// connection of the page's own. Reconnecting pages send Last-Event-ID and
// miss nothing the capped feed still holds.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fieldOf, StreamTail } from '../shared/stream-tail.js';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { resumeFrom, SseStreams } from '../web/sse.js';
import type { HtmlNames } from './render/html.js';
import { toWire, type LocalChatKeys, type LocalChatStore } from './local-chat-store.js';

export class LocalChatFeed {
  private readonly streams: SseStreams;
  private readonly tails = new Set<StreamTail>();

  constructor(
    private readonly deps: {
      redis: Redis;
      keys: LocalChatKeys;
      store: LocalChatStore;
      names: HtmlNames;
      logger: Logger;
      blockMs?: number;
      maxStreams?: number;
    },
  ) {
    this.streams = new SseStreams({ maxStreams: deps.maxStreams ?? 32, busyText: 'too many open pages\n', retryMs: 2000 });
  }

  serve(req: IncomingMessage, res: ServerResponse, after: string | undefined): Promise<void> {
    return this.streams.serve(req, res, async (sse) => {
      const tail = new StreamTail(this.deps.redis.duplicate(), this.deps.keys.feed, resumeFrom(req, after) ?? '$');
      this.tails.add(tail);
      sse.onGone(() => tail.close());
      try {
        while (!sse.gone) {
          const entries = await tail.read(this.deps.blockMs ?? 15_000).catch((err: unknown) => {
            if (!sse.gone) this.deps.logger.warn({ err }, 'reading the local chat feed failed');
            return undefined;
          });
          if (entries === undefined) break;
          if (!entries.length) {
            sse.keepAlive();
            continue;
          }
          for (const { id, fields } of entries) {
            const messageId = fieldOf(fields, 'id');
            const message = messageId ? await this.deps.store.get(messageId) : undefined;
            if (message) sse.event('message', toWire(message, this.deps.names), id);
          }
        }
      } finally {
        this.tails.delete(tail);
        tail.close();
      }
    });
  }

  close(): void {
    for (const t of this.tails) t.close();
  }
}
