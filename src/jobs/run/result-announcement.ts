// A finished job's result is posted once: claimed while it is posted, marked
// announced only after the chat took it (or its outbox keeps it for a later
// retry). A replica that finds another one posting waits for it to finish or
// for its lease to lapse (the poster died), then posts it itself.
import type { JobRecord } from '../../domain/job.js';
import type { Logger } from '../../observability/logger.js';
import type { JobStore } from '../../state/job-store.js';
import { JOB_RECORD_TTL_SECONDS } from '../../state/job-store.js';
import type { JobNotifier } from '../ports.js';

export interface AnnouncementDeps {
  store: Pick<JobStore, 'claimResultAnnouncement'>;
  notifier: Pick<JobNotifier, 'postResult' | 'markRequest'>;
  log: Logger;
  /** How long to wait for another replica that is posting it (a little over its lease); default 25 s. */
  waitMs?: number;
  /** How often to look again meanwhile; default 250 ms. */
  pollMs?: number;
}

export type AnnouncementOutcome = 'announced' | 'announced-before' | 'left-to-another-replica' | 'failed';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function announceResult(job: JobRecord, deps: AnnouncementDeps): Promise<AnnouncementOutcome> {
  const { log } = deps;
  const deadline = Date.now() + (deps.waitMs ?? 25_000);
  for (;;) {
    const claimed = await deps.store.claimResultAnnouncement(job.id);
    if (claimed.kind === 'done') return 'announced-before';
    if (claimed.kind === 'in-progress') {
      // Alive and posting (its lease is renewed), or dead (the lease lapses): wait to see which.
      if (Date.now() > deadline) {
        log.warn({ holder: claimed.holder }, 'another replica is still posting the result: left to it');
        return 'left-to-another-replica';
      }
      await sleep(deps.pollMs ?? 250);
      continue;
    }
    const { claim } = claimed;
    try {
      await deps.notifier.postResult(job);
    } catch (err) {
      log.error({ err }, 'could not post the result');
      // Not announced: whoever supervises the job next may try again.
      await claim.release().catch((e: unknown) => log.warn({ err: e }, 'could not release the result announcement'));
      return 'failed';
    }
    await claim.done(JOB_RECORD_TTL_SECONDS).catch((err: unknown) => log.warn({ err }, 'could not mark the result announced'));
    // The request's ✅/❌: a repeat is harmless (Slack answers already_reacted).
    await deps.notifier
      .markRequest?.(job, job.state === 'done' ? 'done' : 'failed')
      .catch((err: unknown) => log.warn({ err }, 'could not mark the request finished'));
    log.info({ state: job.state }, 'result announced');
    return 'announced';
  }
}
