import type { JobRecord } from '../domain/job.js';

/**
 * How the relay tells people about a job. The Slack implementation renders
 * Block Kit; the relay itself never knows which chat it talks to.
 */
export interface JobNotifier {
  /** Posts the job's status message; returns its id (Slack: ts). */
  postStatus(job: JobRecord): Promise<string>;
  /** Updates the status message in place. */
  updateStatus(job: JobRecord): Promise<void>;
  /** Posts the final result into the job's thread. */
  postResult(job: JobRecord): Promise<void>;
}
