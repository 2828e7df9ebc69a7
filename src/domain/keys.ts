// Every Redis key Switchboard uses, in one place. All carry the prefix.
export interface Keys {
  jobEvents(jobId: string): string;
  jobControl(jobId: string): string;
  jobHeartbeat(jobId: string): string;
  /** The runner's own secrets (the tracker token), taken once with GETDEL before the agent command starts. */
  jobSecret(jobId: string): string;
  job(jobId: string): string;
  /** A job's cancel request ({by, reason, at}): set once, so a second cancel is harmless. */
  jobCancel(jobId: string): string;
  /** Held (by a replica id) while a replica relays the job; lapses soon after that replica dies. */
  jobSupervisor(jobId: string): string;
  /** Claimed when a finished job is retried, so a double press starts one new job. */
  jobRetry(jobId: string): string;
  /** The job whose thread this is: `thread:{channel}:{ts}` → job id. */
  jobByThread(channelId: string, threadTs: string): string;
  /** The newest job ids by creation time (a capped sorted set): what the dashboard lists. */
  jobIndex: string;
  channelLock(channelId: string): string;
  slackEvent(eventId: string): string;
  /** A shared Slack call budget (token bucket), e.g. `<workspace>:chat.update`. */
  slackBudget(name: string): string;
  /** Jobs whose status messages are being refreshed, per workspace (fair share). */
  slackActiveStatus(workspace: string): string;
  /** Undeliverable results: a sorted set of item ids by next attempt, and one key per item. */
  slackOutbox: string;
  slackOutboxItem(id: string): string;
  /** One job at a time per workspace: the lock of a workspace, by its host path. */
  workspaceLock(path: string): string;
  /** Hash jobId → SHA-256 of its agent's Redis password, for re-creating ACL users after a Redis restart. */
  agentUsers: string;
  /** The audit trail: a capped stream of commands and button presses. */
  audit: string;
  /** Held by the one replica whose reconciler runs. */
  reconcilerLease: string;
  /** BullMQ's own prefix (it appends `:{queue}:…`). */
  queuePrefix: string;
  // ---- conversation: questions, follow-ups, waiting jobs
  /** One question of a job (JSON), and its outcome once answered, timed out or ended (set once, NX). */
  jobQuestion(jobId: string, questionKey: string): string;
  jobQuestionOutcome(jobId: string, questionKey: string): string;
  /** A job's questions in the order asked (their keys). */
  jobQuestions(jobId: string): string;
  /** Open questions by deadline (sorted set of `<jobId>:<key>`): any replica applies the default when one passes. */
  questionDeadlines: string;
  /** Jobs waiting for a busy channel (`busy: queue`), first in line first. */
  channelWaiting(channel: string): string;
  /** Channels that have waiting jobs (for the sweep that keeps the line moving). */
  waitingChannels: string;
  /** A reading of free text waiting for its requester's Run (TTL). */
  pendingReading(id: string): string;
  /** How many were refused in a channel's current burst of "busy" answers (state/refusal-burst.ts). */
  refusalBurst(channel: string): string;
  /** Hash job id → state of every job not yet finished (metrics: jobs by state). */
  activeJobs: string;
}

export function keys(prefix: string): Keys {
  return {
    jobEvents: (id) => `${prefix}job:${id}:events`,
    jobControl: (id) => `${prefix}job:${id}:control`,
    jobHeartbeat: (id) => `${prefix}job:${id}:heartbeat`,
    jobSecret: (id) => `${prefix}job:${id}:secret`,
    job: (id) => `${prefix}job:${id}`,
    jobCancel: (id) => `${prefix}job:${id}:cancel`,
    jobRetry: (id) => `${prefix}job:${id}:retry`,
    jobSupervisor: (id) => `${prefix}job:${id}:supervisor`,
    jobByThread: (c, ts) => `${prefix}thread:${c}:${ts}`,
    jobIndex: `${prefix}jobs:recent`,
    channelLock: (c) => `${prefix}lock:channel:${c}`,
    slackEvent: (id) => `${prefix}slack:event:${id}`,
    slackBudget: (name) => `${prefix}slack:budget:${name}`,
    slackActiveStatus: (ws) => `${prefix}slack:status:active:${ws}`,
    slackOutbox: `${prefix}slack:outbox`,
    slackOutboxItem: (id) => `${prefix}slack:outbox:${id}`,
    workspaceLock: (path) => `${prefix}lock:workspace:${path}`,
    agentUsers: `${prefix}agent-users`,
    audit: `${prefix}audit`,
    reconcilerLease: `${prefix}reconciler`,
    queuePrefix: `${prefix}bull`,
    jobQuestion: (id, key) => `${prefix}job:${id}:question:${key}`,
    jobQuestionOutcome: (id, key) => `${prefix}job:${id}:question:${key}:outcome`,
    jobQuestions: (id) => `${prefix}job:${id}:questions`,
    questionDeadlines: `${prefix}questions:deadlines`,
    channelWaiting: (c) => `${prefix}channel:${c}:waiting`,
    waitingChannels: `${prefix}channels:waiting`,
    pendingReading: (id) => `${prefix}freetext:${id}`,
    refusalBurst: (c) => `${prefix}channel:${c}:refusals`,
    activeJobs: `${prefix}jobs:active`,
  };
}
