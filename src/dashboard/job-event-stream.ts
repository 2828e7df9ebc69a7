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
import { send } from '../web/http.js';
import { resumeFrom, SseStreams } from '../web/sse.js';
import { dashboardEvent, type DashboardEvent } from './dashboard-data.js';

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
  private readonly streams: SseStreams;
  private readonly readers = new Set<EventReader>();

  constructor(private readonly deps: JobEventStreamDeps) {
    this.streams = new SseStreams({ maxStreams: deps.maxStreams ?? 32, busyText: 'too many open log tails; close a tab\n', retryMs: 3000 });
  }

  /** Serves one job's events after `after` (or the request's Last-Event-ID) until the job ends or the page goes. */
  async serve(jobId: string, req: IncomingMessage, res: ServerResponse, after: string | undefined): Promise<void> {
    const job = await this.deps.store.get(jobId);
    if (!job) return send(res, 404, 'text/plain; charset=utf-8', 'no such job\n');
    await this.streams.serve(req, res, async (sse) => {
      const reader = new EventReader(this.deps.redis.duplicate(), this.deps.keys.jobEvents(jobId), resumeFrom(req, after) ?? '0');
      this.readers.add(reader);
      sse.onGone(() => reader.close());
      try {
        let ended = isFinished(job);
        while (!sse.gone) {
          const entries = await reader.read(ended ? 0 : (this.deps.blockMs ?? 15_000), 200).catch((err: unknown) => {
            if (!sse.gone) this.deps.logger.warn({ err, jobId }, 'reading a job stream for the dashboard failed');
            return undefined;
          });
          if (!entries) break;
          for (const entry of entries) {
            const line: DashboardEvent =
              'event' in entry
                ? dashboardEvent(entry.id, entry.event)
                : { id: entry.id, type: 'invalid', text: `(not a valid event: ${entry.error.slice(0, 300)})` };
            sse.event('agent', line, entry.id);
            if ('event' in entry && isTerminal(entry.event)) ended = true;
          }
          if (ended) {
            // Drain what is left without waiting; an empty read means everything has been sent.
            if (entries.length === 0) break;
            continue;
          }
          if (entries.length === 0) {
            sse.keepAlive();
            // The dispatcher may end a job without a final event from its agent (lapsed heartbeat, timeout).
            const now = await this.deps.store.get(jobId);
            if (!now || isFinished(now)) ended = true;
          }
        }
        if (!sse.gone) sse.event('end', { jobId });
      } finally {
        this.readers.delete(reader);
        reader.close();
      }
    });
  }

  /** Ends every open stream (shutdown). */
  close(): void {
    for (const r of this.readers) r.close();
  }
}
