// What the dashboard shows, read from Redis: the newest jobs (from the capped
// job index, state/job-store.ts), the dispatch queue, the GPU queue when
// inference is on, and one job's events. Only fields meant for people are
// copied into the views: no credentials, no internal cursors; URLs lose their
// userinfo. The page escapes every string it is given.
import type { Redis } from 'ioredis';
import { isFinished, type JobRecord } from '../domain/job.js';
import { isJobId } from '../domain/job-id.js';
import type { Keys } from '../domain/keys.js';
import { parseAgentEvent, type AgentEvent } from '../domain/events.js';
import { capText, stripUrlCredentials } from '../domain/text.js';
import type { JobStore } from '../state/job-store.js';
import type { QueuedJobData } from '../jobs/job-queue.js';
import type { GpuQueueEntry, GpuQueueView } from '../inference/gpu-queue.js';

export interface DashboardJob {
  id: string;
  state: JobRecord['state'];
  project: string;
  issue: number;
  request: string;
  channel: string;
  requester: string;
  /** "2/3 run agent" */
  step?: string;
  stepText?: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Queued: since it was asked for; running: since it started; finished: how long it ran. */
  durationMs: number;
  usage: { promptTokens: number; completionTokens: number; costUsd?: number };
  summary?: string;
  reason?: string;
  prUrl?: string;
  branch?: string;
  /** 1 = next to start. */
  queuePosition?: number;
}

export interface DashboardOverview {
  generatedAt: number;
  running: DashboardJob[];
  queued: DashboardJob[];
  finished: DashboardJob[];
  /** Undefined: no inference router on this dispatcher. */
  gpuQueue?: GpuQueueEntry[];
}

export interface DashboardEvent {
  id: string;
  type: AgentEvent['type'] | 'invalid';
  ts?: number;
  /** One line describing the event (log events: the lines themselves). */
  text: string;
  level?: string;
}

const TEXT_CAP = 4000;
const clean = (t: string | undefined) => (t === undefined ? undefined : capText(stripUrlCredentials(t), TEXT_CAP));

export function dashboardJob(job: JobRecord, now: number, queuePosition?: number): DashboardJob {
  const durationMs =
    job.finishedAt !== undefined ? job.finishedAt - (job.startedAt ?? job.createdAt) : now - (job.startedAt ?? job.createdAt);
  const view: DashboardJob = {
    id: job.id,
    state: job.state,
    project: job.project,
    issue: job.issue,
    request: clean(job.request) ?? '',
    channel: job.channel,
    requester: job.user,
    createdAt: job.createdAt,
    durationMs: Math.max(0, durationMs),
    usage: {
      promptTokens: job.promptTokens,
      completionTokens: job.completionTokens,
      ...(job.costUsd !== undefined ? { costUsd: job.costUsd } : {}),
    },
  };
  if (job.step !== undefined) view.step = `${job.step}/${job.totalSteps ?? '?'}${job.stepName ? ` ${job.stepName}` : ''}`;
  const optional = { stepText: job.stepText, summary: job.summary, reason: job.reason, prUrl: job.prUrl, branch: job.branch };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (view as unknown as Record<string, unknown>)[k] = clean(v);
  if (job.startedAt !== undefined) view.startedAt = job.startedAt;
  if (job.finishedAt !== undefined) view.finishedAt = job.finishedAt;
  if (queuePosition !== undefined) view.queuePosition = queuePosition;
  return view;
}

/** An agent event as one line of the job page. */
export function dashboardEvent(id: string, e: AgentEvent): DashboardEvent {
  const base = { id, type: e.type, ts: e.ts };
  switch (e.type) {
    case 'started':
      return { ...base, text: `started ${e.project} ${e.ref} on ${e.host} (${e.image})` };
    case 'progress':
      return { ...base, text: `step ${e.step}/${e.total} ${e.name}${e.text ? `: ${e.text}` : ''}` };
    case 'log':
      return { ...base, text: e.text, level: e.level };
    case 'question':
      return { ...base, text: `question (${e.kind}): ${e.text}` };
    case 'usage':
      return {
        ...base,
        text: `usage ${e.model}: ${e.promptTokens} prompt + ${e.completionTokens} completion tokens${e.costUsd !== undefined ? `, $${e.costUsd}` : ''}${e.gpuSeconds !== undefined ? `, ${e.gpuSeconds} GPU s` : ''}`,
      };
    case 'waiting':
      return { ...base, text: `waiting for a GPU slot (${e.position} ahead)` };
    case 'done':
      return { ...base, text: `done: ${e.summary}${e.prUrl ? ` (${e.prUrl})` : ''}` };
    case 'failed':
      return { ...base, text: `failed: ${e.reason}` };
  }
}

export interface DashboardDataDeps {
  redis: Redis;
  keys: Keys;
  store: Pick<JobStore, 'recent' | 'get'>;
  /** Jobs waiting for a slot, next first. */
  waiting: () => Promise<QueuedJobData[]>;
  gpuQueue?: GpuQueueView;
  now?: () => number;
}

const LIST_LIMIT = 200;
const EVENTS_LIMIT = 500;

export class DashboardData {
  constructor(private readonly deps: DashboardDataDeps) {}

  async overview(): Promise<DashboardOverview> {
    const now = (this.deps.now ?? Date.now)();
    const [jobs, waiting, gpuQueue] = await Promise.all([
      this.deps.store.recent(LIST_LIMIT),
      this.deps.waiting(),
      this.deps.gpuQueue?.entries(),
    ]);
    const position = new Map(waiting.map((w, i) => [w.jobId, i + 1]));
    const overview: DashboardOverview = { generatedAt: now, running: [], queued: [], finished: [] };
    for (const job of jobs) {
      const view = dashboardJob(job, now, position.get(job.id));
      if (isFinished(job)) overview.finished.push(view);
      else if (job.state === 'queued') overview.queued.push(view);
      else overview.running.push(view);
    }
    overview.queued.sort((a, b) => (a.queuePosition ?? Infinity) - (b.queuePosition ?? Infinity) || a.createdAt - b.createdAt);
    if (gpuQueue) overview.gpuQueue = gpuQueue;
    return overview;
  }

  async job(jobId: string): Promise<{ job: DashboardJob; events: DashboardEvent[]; cursor: string } | undefined> {
    if (!isJobId(jobId)) return undefined;
    const record = await this.deps.store.get(jobId);
    if (!record) return undefined;
    const waiting = record.state === 'queued' ? await this.deps.waiting() : [];
    const at = waiting.findIndex((w) => w.jobId === jobId);
    const entries = (await this.deps.redis.xrevrange(this.deps.keys.jobEvents(jobId), '+', '-', 'COUNT', EVENTS_LIMIT)).reverse();
    const events = entries.map(([id, fields]) => eventOfEntry(id, fields));
    return {
      job: dashboardJob(record, (this.deps.now ?? Date.now)(), at >= 0 ? at + 1 : undefined),
      events,
      cursor: entries.at(-1)?.[0] ?? '0',
    };
  }
}

/** One stream entry as a dashboard line; an entry that is not a valid event says so. */
export function eventOfEntry(id: string, fields: string[]): DashboardEvent {
  const at = fields.indexOf('e');
  const raw = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
  if (raw !== undefined && raw.length > 1024 * 1024) return { id, type: 'invalid', text: '(an oversized entry, not shown)' };
  const parsed = parseAgentEvent(raw);
  if (!parsed.ok) return { id, type: 'invalid', text: `(not a valid event: ${capText(parsed.error, 300)})` };
  const line = dashboardEvent(id, parsed.event);
  return { ...line, text: capText(stripUrlCredentials(line.text), TEXT_CAP) };
}
