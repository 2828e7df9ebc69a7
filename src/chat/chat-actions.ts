// The platform-neutral chat core: "user U in channel C (thread T) said X" and
// "user U pressed action A with value V on message M" → a reply as a domain
// Message. Every chat adapter is a thin layer over it: Slack's Bolt listeners
// (src/slack/listeners/), the local chat page. It records every command and
// button press in the audit trail. No Slack types in here.
import { ACTIONS, baseActionId } from '../domain/actions.js';
import { parseIntent } from '../domain/intents.js';
import type { Message } from '../domain/message.js';
import type { SenderContext } from '../domain/permissions.js';
import type { AuditRecord } from '../state/audit-log.js';
import type { Logger } from '../observability/logger.js';
import { replyMessage } from './reply-messages.js';
import type { ChatRequests, ThreadTextHandler } from './chat-requests.js';
import type { ChatRequest, Reply } from './replies.js';
import type { JobControl } from '../jobs/job-control.js';
import { FOLLOW_UP_REACTION } from '../jobs/conversation.js';
import type { BurstLead } from '../state/refusal-burst.js';
import type { ChatEvent } from './chat-event.js';

/** Where something was said: a channel message, an @mention, a DM, a thread reply, the slash command. */
export type Surface = 'message' | 'mention' | 'dm' | 'thread' | 'slash';

export interface Said extends ChatRequest {
  surface: Surface;
  /** The sender's workspace (audit). */
  team?: string;
}

export interface Press {
  /** As pressed (a renderer may have added `:2`). */
  actionId: string;
  value?: string;
  user: string;
  team?: string;
  channel?: string;
  /** The message the button is on, and its thread. */
  messageTs?: string;
  threadTs?: string;
  sender?: SenderContext;
}

export interface Answer {
  reply: Reply;
  /** What to show (to the person who pressed, for a button); undefined: nothing. */
  message?: Message;
  /**
   * What `message` should be edited into once known (the first refusal of a burst, with how many more
   * asked); resolves undefined when it stays as it is. Only for requests said `burstable`.
   */
  later?: Promise<Message | undefined>;
  /** An emoji name to put on the message said (a follow-up the agent received), instead of a reply. */
  reaction?: string;
}

/** What came of it, for the audit trail: the reply's kind, and for the conversation also how it went (`question-answer:refused`). */
function outcomeOf(reply: Reply): string {
  return reply.kind === 'follow-up' || reply.kind === 'question-answer' ? `${reply.kind}:${reply.outcome.kind}` : reply.kind;
}

/** A thread reply that reached the agent is acknowledged with a reaction. */
function reactionTo(reply: Reply): string | undefined {
  return reply.kind === 'follow-up' && (reply.outcome.kind === 'forwarded' || reply.outcome.kind === 'answered')
    ? FOLLOW_UP_REACTION
    : undefined;
}

/** What a button does. Registered per action id (domain/actions.ts). */
export type ButtonHandler = (press: Press) => Promise<Reply>;

export interface Auditor {
  record(record: AuditRecord): Promise<void>;
}

export interface ChatActionsDeps {
  requests: ChatRequests;
  control: JobControl;
  audit?: Auditor;
  logger: Logger;
}

/** The job an answer is about, for the audit trail. */
function jobIdOf(reply: Reply): string | undefined {
  if ('job' in reply && reply.job) return reply.job.id;
  if ((reply.kind === 'follow-up' || reply.kind === 'question-answer') && reply.jobId) return reply.jobId;
  if (reply.kind === 'retried') return reply.outcome.kind === 'queued' ? reply.outcome.job.id : reply.previous.id;
  return undefined;
}

/** The first refusal of a burst, once the burst is over: with how many more asked (undefined: nobody else did). */
async function editedRefusal(reply: Extract<Reply, { kind: 'busy' }>, burst: BurstLead, log: Logger): Promise<Message | undefined> {
  try {
    const others = await burst.othersRefused();
    if (others === 0) return undefined;
    log.info({ others }, 'a burst of refusals in the channel was answered once');
    return replyMessage({ ...reply, alsoAsked: others });
  } catch (err) {
    log.warn({ err }, 'could not count the burst of refusals');
    return undefined;
  }
}

export class ChatActions {
  private readonly buttons = new Map<string, ButtonHandler>();

  constructor(private readonly deps: ChatActionsDeps) {
    this.onButton(ACTIONS.cancelJob, (p) =>
      p.value ? deps.control.cancel({ jobId: p.value }, p.user) : Promise.resolve({ kind: 'no-job', action: 'cancel' }),
    );
    this.onButton(ACTIONS.retryJob, (p) =>
      p.value ? deps.control.retry({ jobId: p.value }, p.user, p.sender) : Promise.resolve({ kind: 'no-job', action: 'retry' }),
    );
  }

  /** Binds a button's action id to what it does (question answers and the like are added by their owners). */
  onButton(actionId: string, handler: ButtonHandler): void {
    this.buttons.set(actionId, handler);
  }

  /** Adds a handler for other text said in a job's thread (follow-ups, answers); commands are tried first. */
  onThreadText(handler: ThreadTextHandler): void {
    this.deps.requests.onThreadText(handler);
  }

  /** The action ids a chat adapter must route here. */
  buttonActionIds(): string[] {
    return [...this.buttons.keys()];
  }

  /** Text said to the bot (or in its hearing); `event.ref` names it in logs and in "internal error, ref X". */
  async said(s: Said, event: ChatEvent): Promise<Answer> {
    const { ref } = event;
    const log = event.log.child({ channel: s.channel, user: s.user });
    const reply = await this.deps.requests.answer({ ...s, ref }, ref, (err) => log.error({ err }, 'could not answer a message'));
    if (reply.kind !== 'silent') {
      const action = parseIntent(s.text.slice(0, 4000), { addressed: s.addressed, botUserId: s.botUserId }).kind;
      await this.audit({
        user: s.user,
        team: s.team,
        kind: 'command',
        action,
        channel: s.channel,
        thread: s.threadTs,
        surface: s.surface,
        outcome: outcomeOf(reply),
        jobId: jobIdOf(reply),
        text: s.text,
      });
    }
    const reaction = reactionTo(reply);
    const later = reply.kind === 'busy' && reply.burst ? editedRefusal(reply, reply.burst, log) : undefined;
    return { reply, message: replyMessage(reply), ...(reaction ? { reaction } : {}), ...(later ? { later } : {}) };
  }

  /** A button pressed. Unknown action ids get a polite answer, never an error. */
  async pressed(p: Press, event: ChatEvent): Promise<Answer> {
    const { ref } = event;
    const action = baseActionId(p.actionId);
    const handler = this.buttons.get(action);
    const log = event.log.child({ action, user: p.user, channel: p.channel });
    let reply: Reply;
    if (!handler) {
      log.warn('a button with an action id nothing handles was pressed');
      reply = { kind: 'info', text: 'That button no longer does anything. Say help for what works.' };
    } else {
      try {
        reply = await handler(p);
      } catch (err) {
        log.error({ err }, 'could not handle a button press');
        reply = { kind: 'internal-error', ref };
      }
    }
    await this.audit({
      user: p.user,
      team: p.team,
      kind: 'button',
      action,
      channel: p.channel,
      thread: p.threadTs ?? p.messageTs,
      surface: 'button',
      outcome: outcomeOf(reply),
      jobId: jobIdOf(reply) ?? p.value,
      text: p.value,
    });
    return { reply, message: replyMessage(reply) };
  }

  private async audit(record: AuditRecord): Promise<void> {
    const clean = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as unknown as AuditRecord;
    await this.deps.audit?.record(clean);
  }
}
