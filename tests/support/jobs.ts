import { newJob, type JobRecord } from '../../src/domain/job.js';

export const T0 = 1_700_000_000_000;

/** A job record for billing-api #58 in C0123ABCD, with any fields changed. */
export function aJob(over: Partial<JobRecord> = {}): JobRecord {
  return {
    ...newJob({
      id: 'a1b2c3d4e5f6',
      project: 'billing-api',
      issue: 58,
      request: 'fix #58 in billing-api',
      channel: 'C0123ABCD',
      user: 'U0123ABCD',
      createdAt: T0,
    }),
    ...over,
  };
}
