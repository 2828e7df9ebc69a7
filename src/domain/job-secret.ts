// The runner's own secret, as the dispatcher writes it to the job's secret key
// (the runner takes it with GETDEL: agent/job-secret.ts).
export interface JobSecret {
  /** The token for the project's tracker and git host. */
  trackerToken?: string;
}

/** The dispatcher's side: what it writes, for how long. */
export function encodeJobSecret(secret: JobSecret): string {
  return JSON.stringify(secret);
}
