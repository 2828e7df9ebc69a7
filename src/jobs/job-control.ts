// Cancel, Retry and the job list: what people may do to jobs that exist.
// Platform-neutral: chat adapters hand in who asked and which job (a button's
// value, the thread it was said in, or the channel), and get a structured
// outcome back to render.
//
// Only the requester and the project's admins may cancel or retry; everyone
// else hears who may ("the requester or a project admin"), never names.
import { cancelJob, isFinished, type JobRecord } from '../domain/job.js';
import type { Catalogue } from '../domain/project.js';
import { mayUse, type SenderContext } from '../domain/permissions.js';
import type { ChannelLock } from '../state/channel-lock.js';
import type { JobStore } from '../state/job-store.js';
import type { JobControls } from '../state/job-controls.js';
import type { Logger } from '../observability/logger.js';
import type { ListedJob } from '../domain/job.js';
import type { JobRequests, RequestOutcome } from './job-requests.js';
import type { WaitingJobs } from './waiting-jobs.js';

/** Which job an action is about: a button names it; words said in a thread or a channel point at one. */
export type JobTarget = { jobId: string } | { channel: string; threadTs?: string };

export type JobAction = 'cancel' | 'retry';

export type ControlOutcome =
  /** The runner was told; the final message says who cancelled. */
  | { kind: 'cancel-requested'; job: JobRecord }
  /** It had not started: out of the queue, the channel is free. */
  | { kind: 'cancelled-queued'; job: JobRecord }
  | { kind: 'already-cancelling'; job: JobRecord; by: string }
  | { kind: 'already-finished'; job: JobRecord; action: JobAction }
  | { kind: 'not-allowed'; job: JobRecord; action: JobAction }
  /** Nothing here to act on (no job in this channel or thread). */
  | { kind: 'no-job'; action: JobAction }
  /** Retry of a job that has not finished. */
  | { kind: 'still-running'; job: JobRecord }
  | { kind: 'retry-pending'; job: JobRecord }
  /** A retry was asked for: `outcome` is what the new request came to (queued, busy, rejected). */
  | { kind: 'retried'; previous: JobRecord; outcome: RequestOutcome }
  | { kind: 'list'; jobs: ListedJob[] };

/** The queue, as far as Cancel and list need it. */
export interface QueueView {
  remove(jobId: string): Promise<boolean>;
  lineUp(): Promise<{ running: string[]; waiting: string[] }>;
}

export interface JobControlDeps {
  store: JobStore;
  lock: ChannelLock;
  controls: JobControls;
  queue: QueueView;
  requests: JobRequests;
  /** The channels' lines of waiting jobs (`busy: queue`): cancelled jobs leave them, `list` shows them. */
  lines?: Pick<WaitingJobs, 'leave' | 'allWaiting'>;
  catalogue: () => Catalogue;
  /** Ends a job that never got an agent: final status, result, channel freed (the supervisor's finish). */
  endWithoutAgent: (job: JobRecord) => Promise<void>;
  threadLink: (job: JobRecord) => Promise<string | undefined>;
  logger: Logger;
  now?: () => number;
}

export class JobControl {
  private readonly now: () => number;

  constructor(private readonly deps: JobControlDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The job a target points at: the button's job, the thread's job, else the channel's current job. */
  async find(target: JobTarget): Promise<JobRecord | undefined> {
    const { store, lock } = this.deps;
    if ('jobId' in target) return store.get(target.jobId);
    if (target.threadTs) {
      const inThread = await store.byThread(target.channel, target.threadTs);
      if (inThread) return inThread;
    }
    const holder = await lock.holder(target.channel);
    return holder ? store.get(holder) : undefined;
  }

  /** Whether `user` may cancel or retry `job`: its requester, or an admin of its project. */
  mayControl(job: JobRecord, user: string): boolean {
    if (job.user === user) return true;
    return this.deps.catalogue().get(job.project)?.admins.includes(user) === true;
  }

  async cancel(target: JobTarget, by: string): Promise<ControlOutcome> {
    const job = await this.find(target);
    if (!job) return { kind: 'no-job', action: 'cancel' };
    if (!this.mayControl(job, by)) return { kind: 'not-allowed', job, action: 'cancel' };
    if (isFinished(job)) return { kind: 'already-finished', job, action: 'cancel' };
    const reason = job.user === by ? 'cancelled by the requester' : 'cancelled by a project admin';
    const log = this.deps.logger.child({ jobId: job.id, by });
    if (!(await this.deps.controls.requestCancel(job.id, { by, reason, at: this.now() }))) {
      const first = await this.deps.controls.cancelRequest(job.id);
      return { kind: 'already-cancelling', job, by: first?.by ?? by };
    }
    // The runner reads its control stream from the start: a job that starts after this still sees it.
    await this.deps.controls.send(job.id, { type: 'cancel', by, reason });
    // Queued: still in the dispatch queue, or waiting in its channel's line (`busy: queue`).
    if (job.state === 'queued' && ((await this.deps.queue.remove(job.id)) || (await this.deps.lines?.leave(job)))) {
      const cancelled = cancelJob(job, by, this.now(), reason);
      await this.deps.endWithoutAgent(cancelled);
      log.info('queued job cancelled: removed from the queue');
      return { kind: 'cancelled-queued', job: cancelled };
    }
    log.info({ state: job.state }, 'cancel requested');
    return { kind: 'cancel-requested', job };
  }

  async retry(target: JobTarget, by: string, sender?: SenderContext): Promise<ControlOutcome> {
    // Only a job's thread or its Retry button point at a finished job; words in the channel do not.
    const { store } = this.deps;
    const job =
      'jobId' in target
        ? await store.get(target.jobId)
        : target.threadTs
          ? await store.byThread(target.channel, target.threadTs)
          : undefined;
    if (!job) return { kind: 'no-job', action: 'retry' };
    if (!this.mayControl(job, by)) return { kind: 'not-allowed', job, action: 'retry' };
    if (!isFinished(job)) return { kind: 'still-running', job };
    if (!(await this.deps.controls.claimRetry(job.id))) return { kind: 'retry-pending', job };
    const link = await this.deps.threadLink(job).catch(() => undefined);
    const outcome = await this.deps.requests.request({
      channel: job.channel,
      user: by,
      issue: job.issue,
      project: job.project,
      ...(job.agent !== undefined ? { agent: job.agent } : {}),
      text: job.request,
      retryOf: { jobId: job.id, ...(link ? { link } : {}) },
      sender: { ...sender, ...(job.external ? { external: true } : {}) },
    });
    // The claim only keeps two presses at once from starting two jobs; after that the channel lock does.
    await this.deps.controls.releaseRetry(job.id);
    this.deps.logger.info({ jobId: job.id, by, outcome: outcome.kind }, 'retry requested');
    return { kind: 'retried', previous: job, outcome };
  }

  /** Running and queued jobs of projects this person may use (and their own), with places in the queue. */
  async list(user: string, sender?: SenderContext): Promise<ControlOutcome> {
    const { running, waiting } = await this.deps.queue.lineUp();
    const inLines = (await this.deps.lines?.allWaiting()) ?? [];
    const position = new Map(waiting.map((id, i) => [id, i + 1]));
    const catalogue = this.deps.catalogue();
    const records = await Promise.all([...new Set([...running, ...waiting, ...inLines])].map((id) => this.deps.store.get(id)));
    const visible = records.filter((j): j is JobRecord => {
      if (!j || isFinished(j)) return false;
      const project = catalogue.get(j.project);
      return j.user === user || (project !== undefined && mayUse(project, user, sender));
    });
    const jobs = await Promise.all(
      visible.map(async (job): Promise<ListedJob> => {
        const link = await this.deps.threadLink(job).catch(() => undefined);
        const at = job.state === 'queued' ? position.get(job.id) : undefined;
        return { job, ...(at !== undefined ? { position: at } : {}), ...(link ? { link } : {}) };
      }),
    );
    return { kind: 'list', jobs };
  }
}
