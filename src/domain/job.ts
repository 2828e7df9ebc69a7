// The job as the dispatcher sees it: who asked for what, where it is, and how
// it ended. Kept in Redis (state/job-store.ts) so any replica can pick it up.
import type { AgentEvent } from './events.js';

export type JobState = 'queued' | 'starting' | 'running' | 'done' | 'failed' | 'cancelled';

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['done', 'failed', 'cancelled']);

export interface JobRecord {
  id: string;
  project: string;
  issue: number;
  /** The original request, as the user wrote it (Slack formatting removed). */
  request: string;
  /** One of the project's named agents (`… with aider`); unset: the project's default agent. */
  agent?: string;
  channel: string;
  user: string;
  /** The requester belongs to another Slack team (Slack Connect): a run-time permission re-check needs to know. */
  external?: boolean;
  /** Thread the job talks in: the request message, or the status message itself. */
  threadTs?: string;
  /** The request's own message, when it was one (not a slash command): it gets the 👀 / ✅ / ❌ reactions. */
  requestTs?: string;
  /** The chat's id of the delivery that carried the request (Slack: its event id, or a command's trigger): in every log line about the job. */
  requestRef?: string;
  /** The one status message that is updated in place. */
  statusTs?: string;
  state: JobState;
  /** Set while the job waits behind the channel's running job (`busy: queue`): its place in the channel's line, 1 = next. */
  waiting?: { position: number };
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  step?: number;
  totalSteps?: number;
  stepName?: string;
  stepText?: string;
  /** The last few agent log lines, newest last. */
  recentLogs: string[];
  /** Log lines the runner dropped because the agent wrote faster than its cap (said in the status and the result). */
  droppedLogLines?: number;
  host?: string;
  summary?: string;
  prUrl?: string;
  branch?: string;
  commit?: string;
  reason?: string;
  retryable?: boolean;
  /** Who asked to cancel the job while the agent is being stopped (a chat user id). */
  cancelRequestedBy?: string;
  /** Who cancelled the job (a chat user id), once it was cancelled. */
  cancelledBy?: string;
  /** The job this one runs again (Retry), and a link to that job's thread. */
  retryOf?: { jobId: string; link?: string };
  promptTokens: number;
  completionTokens: number;
  costUsd?: number;
  /** Time the job's inference requests held a GPU slot, seconds (usage events). */
  gpuSeconds?: number;
  /** Place in line of a request waiting for a GPU slot (1 = next); unset when none waits. */
  gpuWait?: number;
  /** Id of the last stream entry applied to this record. */
  cursor: string;
}

/** A job as it is first recorded, before anything has run. */
export function newJob(
  fields: Pick<JobRecord, 'id' | 'project' | 'issue' | 'request' | 'channel' | 'user' | 'createdAt'> &
    Partial<Pick<JobRecord, 'threadTs' | 'requestTs' | 'external' | 'retryOf' | 'agent' | 'requestRef'>>,
): JobRecord {
  return { ...fields, state: 'queued', recentLogs: [], promptTokens: 0, completionTokens: 0, cursor: '0' };
}

export const RECENT_LOG_LINES = 3;
const MAX_LOG_LINE = 300;

export function isFinished(job: Pick<JobRecord, 'state'>): boolean {
  return TERMINAL_STATES.has(job.state);
}

/**
 * The record after one agent event: pure, so the relay and its tests agree on
 * what an event means. Events after the end change nothing.
 */
export function applyEvent(job: JobRecord, event: AgentEvent): JobRecord {
  if (isFinished(job)) return job;
  switch (event.type) {
    case 'started':
      return { ...job, state: 'running', startedAt: job.startedAt ?? event.ts, host: event.host };
    case 'progress':
      return {
        ...job,
        state: 'running',
        step: event.step,
        totalSteps: event.total,
        stepName: event.name,
        stepText: event.text,
      };
    case 'log': {
      const line = event.text.length > MAX_LOG_LINE ? `${event.text.slice(0, MAX_LOG_LINE)}…` : event.text;
      const dropped = event.dropped ? { droppedLogLines: (job.droppedLogLines ?? 0) + event.dropped } : {};
      return { ...job, recentLogs: [...job.recentLogs, line].slice(-RECENT_LOG_LINES), ...dropped };
    }
    case 'usage':
      return {
        ...job,
        promptTokens: job.promptTokens + event.promptTokens,
        completionTokens: job.completionTokens + event.completionTokens,
        costUsd: event.costUsd === undefined ? job.costUsd : (job.costUsd ?? 0) + event.costUsd,
        gpuSeconds: event.gpuSeconds === undefined ? job.gpuSeconds : (job.gpuSeconds ?? 0) + event.gpuSeconds,
      };
    case 'waiting': {
      const { gpuWait: _gone, ...rest } = job;
      return event.position > 0 ? { ...job, gpuWait: event.position } : rest;
    }
    case 'question':
      return job; // answered through the thread in a later capability
    case 'done':
      return {
        ...job,
        state: 'done',
        finishedAt: event.ts,
        summary: event.summary,
        prUrl: event.prUrl,
        branch: event.branch,
        commit: event.commit,
      };
    case 'failed':
      return {
        ...job,
        state: 'failed',
        finishedAt: event.ts,
        reason: event.reason,
        retryable: event.retryable,
        step: event.step ?? job.step,
        stepName: event.name ?? job.stepName,
      };
  }
}

/** The record after the dispatcher itself ends a job (lapsed heartbeat, timeout, lost container). */
export function failJob(job: JobRecord, reason: string, now: number, retryable = true): JobRecord {
  if (isFinished(job)) return job;
  return { ...job, state: 'failed', finishedAt: now, reason, retryable };
}

/** The record after a cancel: `by` is the chat user who cancelled it. Finished jobs stay as they are. */
export function cancelJob(job: JobRecord, by: string, now: number, reason?: string): JobRecord {
  if (isFinished(job)) return job;
  return { ...job, state: 'cancelled', finishedAt: now, cancelledBy: by, reason: reason ?? job.reason, retryable: true };
}

/** "4m 12s", "1h 3m", "38s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export interface ListedJob {
  job: JobRecord;
  /** Place in the queue (1 = next to start); unset for running jobs. */
  position?: number;
  /** Permalink of its thread. */
  link?: string;
}
