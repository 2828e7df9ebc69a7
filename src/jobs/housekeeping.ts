// A replica's rounds over the jobs it does not supervise itself; every replica
// makes them, and what one does another may safely repeat:
//   - a queued job keeps its channel while it waits (any replica may have
//     queued it), through the lease keeper;
//   - a channel's line whose holder vanished (a replica died mid-hand-over) moves on;
//   - a question nobody answered in time gets its default (the first replica settles it).
import type { Keys } from '../domain/keys.js';
import type { Logger } from '../observability/logger.js';
import type { LeaseKeeper } from '../state/lease-keeper.js';
import type { Conversation } from './conversation.js';
import type { JobQueue } from './job-queue.js';
import type { WaitingJobs } from './waiting-jobs.js';

export interface HousekeepingDeps {
  keys: Keys;
  leases: Pick<LeaseKeeper, 'renewEvery'>;
  queue: Pick<JobQueue, 'waiting'>;
  lines: Pick<WaitingJobs, 'sweep'>;
  conversation: Pick<Conversation, 'expireDue'>;
  timings: { lockLeaseMs: number; questionCheckMs: number };
  logger: Logger;
}

export function startHousekeeping(deps: HousekeepingDeps): { close(): void } {
  const { keys, timings, logger } = deps;
  deps.leases.renewEvery('queued channel', timings.lockLeaseMs / 4, async () =>
    (await deps.queue.waiting()).map((w) => ({
      kind: 'queued channel',
      key: keys.channelLock(w.channel),
      owner: w.jobId,
      leaseMs: timings.lockLeaseMs,
    })),
  );
  const lineSweep = setInterval(() => {
    void deps.lines.sweep().catch((err: unknown) => logger.warn({ err }, 'could not sweep the channels’ lines'));
  }, timings.lockLeaseMs / 4);
  let expiring = false;
  const questionClock = setInterval(() => {
    if (expiring) return;
    expiring = true;
    void deps.conversation
      .expireDue()
      .catch((err: unknown) => logger.warn({ err }, 'could not apply the defaults of unanswered questions'))
      .finally(() => (expiring = false));
  }, timings.questionCheckMs);
  return {
    close() {
      clearInterval(lineSweep);
      clearInterval(questionClock);
    },
  };
}
