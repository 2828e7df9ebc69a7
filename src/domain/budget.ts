// A project's per-job budget (`budget:` in the catalogue): tokens and
// GPU-seconds. Pure: the supervisor stops a job that passes it, and the
// inference endpoint refuses its further requests.
import type { JobRecord } from './job.js';

export interface Budget {
  tokens?: number;
  gpuSeconds?: number;
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');

/** Why the job is over its budget (for the job's final message), or undefined while it is within it. */
export function overBudget(
  job: Pick<JobRecord, 'project' | 'promptTokens' | 'completionTokens' | 'gpuSeconds'>,
  budget: Budget | undefined,
): string | undefined {
  if (!budget) return undefined;
  const tokens = job.promptTokens + job.completionTokens;
  if (budget.tokens !== undefined && tokens > budget.tokens) {
    return `stopped: it used ${n(tokens)} tokens, more than the ${n(budget.tokens)} a job of ${job.project} may use (budget.tokens in the project catalogue)`;
  }
  const gpu = job.gpuSeconds ?? 0;
  if (budget.gpuSeconds !== undefined && gpu > budget.gpuSeconds) {
    return `stopped: it held the GPU for ${n(gpu)} s, more than the ${n(budget.gpuSeconds)} s a job of ${job.project} may use (budget.gpuSeconds in the project catalogue)`;
  }
  return undefined;
}
