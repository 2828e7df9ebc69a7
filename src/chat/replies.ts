// What the chat core answers, before any chat renders it: who said what and
// where (ChatRequest), and the reply as data (Reply). chat/reply-messages.ts
// turns a reply into a neutral message.

import type { JobRecord } from '../domain/job.js';
import type { SenderContext } from '../domain/permissions.js';
import type { RequestOutcome } from '../jobs/job-requests.js';
import type { ControlOutcome } from '../jobs/job-control.js';
import type { PressOutcome, ThreadReplyOutcome } from '../jobs/conversation.js';

export interface ChatRequest {
  text: string;
  channel: string;
  user: string;
  /** True for an @mention, a DM or the slash command. */
  addressed: boolean;
  /** Message to reply under: the thread it was said in, or the message itself (unset for slash commands). */
  threadTs?: string;
  /** The message's own id (unset for slash commands): a request message gets reactions. */
  messageTs?: string;
  botUserId?: string;
  /** A DM, or a sender from another team (Slack Connect): see domain/permissions.ts. */
  sender?: SenderContext;
  /** The answer is a message in the channel that the chat can edit later: a "busy" joins the channel's burst of refusals. */
  burstable?: boolean;
  /** The chat's id of the delivery (Slack event id, or a command's trigger), for the logs of a job it starts. */
  ref?: string;
}

export type Reply =
  | { kind: 'silent' }
  | { kind: 'help' }
  | { kind: 'not-understood'; text: string; hint?: string }
  | { kind: 'info'; text: string }
  /** The projects this person may start here. */
  | { kind: 'projects'; projects: { name: string; tracker?: string }[] }
  /** Refused unread: longer than MAX_MESSAGE_LENGTH. */
  | { kind: 'too-long'; length: number; limit: number }
  | { kind: 'status'; job?: JobRecord; link?: string }
  /** Something broke on our side; `ref` finds the log line. Nothing was started. */
  | { kind: 'internal-error'; ref: string }
  /** A reply in a job's thread that went to its agent (acknowledge it), or was refused (say why). */
  | { kind: 'follow-up'; jobId: string; outcome: ThreadReplyOutcome }
  /** A press of one of an agent's question's buttons (`jobId` unset for a button that names none). */
  | { kind: 'question-answer'; jobId?: string; outcome: PressOutcome }
  | RequestOutcome
  | ControlOutcome
  | ReadingReply;

/** The answers of free text, for the chat core to render (chat/reply-messages.ts). */
export type ReadingReply =
  /** The reading, with Run and Cancel for its requester (`id` goes on the buttons). */
  | { kind: 'reading'; id: string; command: string; user: string }
  /** Someone other than the requester pressed Run or Cancel. */
  | { kind: 'reading-not-yours'; requester: string; command: string }
  /** Already run or dropped, or expired. */
  | { kind: 'reading-gone' }
  | { kind: 'reading-dropped'; command: string };
