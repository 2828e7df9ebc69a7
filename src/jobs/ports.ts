import type { JobRecord } from '../domain/job.js';
import type { Message } from '../domain/message.js';

export type RequestMark = 'taken' | 'done' | 'failed';

/** Paces one job's status refreshes (the fair share of the chat budget). */
export interface StatusPacer {
  intervalMs(): number;
  /** The job's status needs no more refreshes. */
  close(): void;
}

/**
 * How the relay tells people about a job. The Slack implementation renders
 * Block Kit; the relay itself never knows which chat it talks to.
 */
export interface JobNotifier {
  /** Posts the job's status message; returns its id (Slack: ts). */
  postStatus(job: JobRecord): Promise<string>;
  /**
   * Updates the status message in place; `final` for the job's last state.
   * Updates of one job are shown in the order they were made, also when an
   * earlier one is still in flight (the final state may be handed over then).
   */
  updateStatus(job: JobRecord, info?: { changedAt?: number; final?: boolean }): Promise<void>;
  /** Posts the final result into the job's thread. */
  postResult(job: JobRecord): Promise<void>;
  /** Marks the request message (when there is one): taken, then done or failed (Slack: 👀, ✅, ❌ reactions). */
  markRequest?(job: JobRecord, mark: RequestMark): Promise<void>;
  /** The thread's permalink and the requester's and channel's names, for the agent's commit and pull request. */
  describeRequest?(job: JobRecord): Promise<RequestContext>;
  /** How often this job's status may be refreshed, at least every `baseMs`; absent: every `baseMs`. */
  statusPacer?(jobId: string, baseMs: number): StatusPacer;
}

/** What the dispatcher resolves about a request for the agent (DESIGN §5); the agent holds no Slack token. */
export interface RequestContext {
  /** Permalink of the job's thread. */
  threadUrl?: string;
  /** The requester's display name. */
  requester?: string;
  channelName?: string;
}

/** Where the conversation is shown (Slack: the job's thread). */
export interface ConversationChat {
  /** Posts a message in the job's thread; returns its id (Slack: ts). */
  postInThread(job: JobRecord, message: Message): Promise<string | undefined>;
  /** Replaces a message posted earlier. */
  update(job: JobRecord, messageId: string, message: Message): Promise<void>;
}
