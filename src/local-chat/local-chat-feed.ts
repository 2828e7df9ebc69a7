// Live updates of the local chat page: every post and update, as
// Server-Sent Events read from the feed stream with blocking reads on a
// connection of the page's own. Reconnecting pages send Last-Event-ID and
// miss nothing the capped feed still holds.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fieldOf, StreamTail } from '../shared/stream-tail.js';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { PAGE_HEADERS, send } from '../web/http.js';
import type { HtmlNames } from './render/html.js';
import { toWire, type LocalChatKeys, type LocalChatStore } from './local-chat-store.js';

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export class LocalChatFeed {
  private open = 0;
  private readonly connections = new Set<Redis>();

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
  ) {}

  async serve(req: IncomingMessage, res: ServerResponse, after: string | undefined): Promise<void> {
    if (this.open >= (this.deps.maxStreams ?? 32))
      return send(res, 503, 'text/plain; charset=utf-8', 'too many open pages\n', { 'retry-after': '10' });
    const cursor = [req.headers['last-event-id'], after].find((c): c is string => typeof c === 'string' && STREAM_ID.test(c)) ?? '$';
    res.writeHead(200, {
      ...PAGE_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    const conn = this.deps.redis.duplicate();
    this.open += 1;
    this.connections.add(conn);
    let gone = false;
    req.on('close', () => {
      gone = true;
      conn.disconnect();
    });
    const tail = new StreamTail(conn, this.deps.keys.feed, cursor);
    try {
      while (!gone) {
        const entries = await tail.read(this.deps.blockMs ?? 15_000).catch((err: unknown) => {
          if (!gone) this.deps.logger.warn({ err }, 'reading the local chat feed failed');
          return undefined;
        });
        if (entries === undefined) break;
        if (!entries.length) {
          res.write(': keep-alive\n\n');
          continue;
        }
        for (const { id, fields } of entries) {
          const messageId = fieldOf(fields, 'id');
          const message = messageId ? await this.deps.store.get(messageId) : undefined;
          if (message) res.write(`id: ${id}\nevent: message\ndata: ${JSON.stringify(toWire(message, this.deps.names))}\n\n`);
        }
      }
    } finally {
      this.open -= 1;
      this.connections.delete(conn);
      conn.disconnect();
      res.end();
    }
  }

  close(): void {
    for (const c of this.connections) c.disconnect();
  }
}
