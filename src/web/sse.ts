// Server-Sent Events for the pages' live views (the dashboard's job log, the
// local chat feed): the headers, the reconnect delay, `id`/`event`/`data`
// frames, keep-alives, a cap on open streams (503 with Retry-After past it),
// and where a reconnecting page resumes (its Last-Event-ID). What to send and
// when is the caller's.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PAGE_HEADERS, send } from './http.js';

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** Where a page resumes: its Last-Event-ID, else `after` from the query, when either is a stream id. */
export function resumeFrom(req: IncomingMessage, after: string | undefined): string | undefined {
  return [req.headers['last-event-id'], after].find((c): c is string => typeof c === 'string' && STREAM_ID.test(c));
}

export interface SseWriter {
  /** True once the page has gone (its connection closed). */
  readonly gone: boolean;
  /** Runs `fn` when the page goes (say, to end a blocking read). */
  onGone(fn: () => void): void;
  event(name: string, data: unknown, id?: string): void;
  keepAlive(): void;
}

export class SseStreams {
  private open = 0;

  constructor(private readonly o: { maxStreams: number; busyText: string; retryMs: number }) {}

  /** Opens an event stream on `res` and runs `body` on it; the stream ends when `body` returns or throws. */
  async serve(req: IncomingMessage, res: ServerResponse, body: (sse: SseWriter) => Promise<void>): Promise<void> {
    if (this.open >= this.o.maxStreams) return send(res, 503, 'text/plain; charset=utf-8', this.o.busyText, { 'retry-after': '10' });
    res.writeHead(200, {
      ...PAGE_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${this.o.retryMs}\n\n`);
    const whenGone: (() => void)[] = [];
    const sse = {
      gone: false,
      onGone: (fn: () => void) => void whenGone.push(fn),
      event: (name: string, data: unknown, id?: string) =>
        void res.write(`${id ? `id: ${id}\n` : ''}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`),
      keepAlive: () => void res.write(': keep-alive\n\n'),
    };
    req.on('close', () => {
      sse.gone = true;
      for (const fn of whenGone) fn();
    });
    this.open += 1;
    try {
      await body(sse);
    } finally {
      this.open -= 1;
      res.end();
    }
  }
}
