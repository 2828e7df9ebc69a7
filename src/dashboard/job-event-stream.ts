// The live log tail of a job page: Server-Sent Events read from the job's
// Redis stream with blocking reads on a connection of its own (one per open
// page, capped), from the last entry the page already has. The stream ends
// when the job does; a browser that reconnects sends Last-Event-ID and
// misses nothing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';
import { isFinished } from '../domain/job.js';
import { isTerminal } from '../domain/events.js';
import type { JobStore } from '../state/job-store.js';
import type { Logger } from '../observability/logger.js';
import { EventReader } from '../jobs/run/event-reader.js';
import { PAGE_HEADERS, send } from '../web/http.js';
import { dashboardEvent, type DashboardEvent } from './dashboard-data.js';

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export interface JobEventStreamDeps {
  redis: Redis;
  keys: Keys;
  store: Pick<JobStore, 'get'>;
  logger: Logger;
  /** How long one blocking read waits before a keep-alive and a look at the job's state. */
  blockMs?: number;
  /** Open streams at most, across all pages. */
  maxStreams?: number;
}

export class JobEventStreams {
  private open = 0;
  private readonly readers = new Set<EventReader>();

  constructor(private readonly deps: JobEventStreamDeps) {}

  /** Serves one job's events after `after` (or the request's Last-Event-ID) until the job ends or the page goes. */
  async serve(jobId: string, req: IncomingMessage, res: ServerResponse, after: string | undefined): Promise<void> {
    const job = await this.deps.store.get(jobId);
    if (!job) return send(res, 404, 'text/plain; charset=utf-8', 'no such job\n');
    if (this.open >= (this.deps.maxStreams ?? 32))
      return send(res, 503, 'text/plain; charset=utf-8', 'too many open log tails; close a tab\n', { 'retry-after': '10' });
    const lastSeen = [req.headers['last-event-id'], after].find((c): c is string => typeof c === 'string' && STREAM_ID.test(c)) ?? '0';
    res.writeHead(200, {
      ...PAGE_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n\n');

    const reader = new EventReader(this.deps.redis.duplicate(), this.deps.keys.jobEvents(jobId), lastSeen);
    this.open += 1;
    this.readers.add(reader);
    let gone = false;
    req.on('close', () => {
      gone = true;
      reader.close();
    });
    const write = (event: string, data: unknown, id?: string) =>
      res.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    try {
      let ended = isFinished(job);
      while (!gone) {
        const entries = await reader.read(ended ? 0 : (this.deps.blockMs ?? 15_000), 200).catch((err: unknown) => {
          if (!gone) this.deps.logger.warn({ err, jobId }, 'reading a job stream for the dashboard failed');
          return undefined;
        });
        if (!entries) break;
        for (const entry of entries) {
          const line: DashboardEvent =
            'event' in entry
              ? dashboardEvent(entry.id, entry.event)
              : { id: entry.id, type: 'invalid', text: `(not a valid event: ${entry.error.slice(0, 300)})` };
          write('agent', line, entry.id);
          if ('event' in entry && isTerminal(entry.event)) ended = true;
        }
        if (ended) {
          // Drain what is left without waiting; an empty read means everything has been sent.
          if (entries.length === 0) break;
          continue;
        }
        if (entries.length === 0) {
          res.write(': keep-alive\n\n');
          // The dispatcher may end a job without a final event from its agent (lapsed heartbeat, timeout).
          const now = await this.deps.store.get(jobId);
          if (!now || isFinished(now)) ended = true;
        }
      }
      if (!gone) write('end', { jobId });
    } finally {
      this.open -= 1;
      this.readers.delete(reader);
      reader.close();
      res.end();
    }
  }

  /** Ends every open stream (shutdown). */
  close(): void {
    for (const r of this.readers) r.close();
  }
}
