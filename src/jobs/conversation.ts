// The conversation between a running agent and the people in its thread
// (DESIGN §2, §5): its questions become interactive messages, button presses
// and thread replies become `answer` controls, other replies from the
// requester or an admin become `message` controls, and a question nobody
// answers in time gets its default. Platform-neutral: listeners hand in who
// did what, the ConversationChat port posts and updates the messages.
import { isFinished, type JobRecord } from '../domain/job.js';
import type { Catalogue } from '../domain/project.js';
import { section, text, mention, type Message } from '../domain/message.js';
import { questionMessage } from '../domain/question-messages.js';
import {
  answerOptions,
  askedQuestion,
  isRequesterOrAdmin,
  onlyRequesterOrAdmin,
  timeoutAnswer,
  type QuestionEvent,
  type QuestionOutcome,
} from '../domain/questions.js';
import type { JobStore } from '../state/job-store.js';
import type { QuestionStore, StoredQuestion } from '../state/question-store.js';
import type { JobControls } from '../state/job-controls.js';
import type { ConversationChat } from './ports.js';
import type { Logger } from '../observability/logger.js';

export interface ConversationDeps {
  store: JobStore;
  questions: QuestionStore;
  /** The job's control stream (answer and message controls). */
  controls: Pick<JobControls, 'send'>;
  catalogue: () => Catalogue;
  chat: ConversationChat;
  logger: Logger;
  now?: () => number;
}

/** What came of a button press on a question: the listener shows a refusal to the presser alone. */
export type PressOutcome = { kind: 'answered' } | { kind: 'refused'; message: Message };

/** What came of a reply in a job's thread. */
export type ThreadReplyOutcome =
  /** Passed to the agent as a `message` control (acknowledge it, e.g. with a reaction). */
  | { kind: 'forwarded'; jobId: string }
  /** It answered the job's open `text` question. */
  | { kind: 'answered'; jobId: string }
  /** Said to the sender: who may, or that the job has ended. */
  | { kind: 'refused'; message: Message }
  /** Left alone: people talking in the thread among themselves. */
  | { kind: 'ignored' };

const say = (...words: Parameters<typeof section>): Message => ({ blocks: [section(...words)] });
const JOB_ENDED = say(text('This job has ended, so the answer can’t reach the agent any more.'));
const WHO_MAY_APPROVE = say(text('Only the requester or a project admin may answer this approval.'));
const WHO_MAY_REPLY = say(text('Only the requester or a project admin may answer the agent’s question.'));
const NO_LONGER_OPEN = say(text('This question is no longer open.'));

function alreadySettled(first: QuestionOutcome | undefined): Message {
  if (!first) return NO_LONGER_OPEN;
  switch (first.how) {
    case 'answered':
      return say(text('This question was already answered by '), mention(first.by), text('.'));
    case 'timed-out':
      return say(text('Nobody answered this question in time, so the agent already got its default.'));
    case 'ended':
      return JOB_ENDED;
  }
}

export class Conversation {
  private readonly now: () => number;

  constructor(private readonly deps: ConversationDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Shows a question the agent asked (once, however often its event is read). */
  async ask(job: JobRecord, event: QuestionEvent): Promise<void> {
    const q: StoredQuestion = askedQuestion(job.id, event, this.now());
    if (!(await this.deps.questions.open(q))) return;
    const log = this.deps.logger.child({ jobId: job.id, questionId: q.questionId.slice(0, 80), kind: q.kind });
    try {
      const messageId = await this.deps.chat.postInThread(job, questionMessage(q));
      if (messageId) await this.deps.questions.setMessageId(q, messageId);
      log.info({ timeoutSeconds: q.timeoutSeconds }, 'the agent asked a question');
    } catch (err) {
      // Its deadline still stands: the default reaches the agent even though nobody saw the question.
      log.error({ err }, 'could not show the agent’s question');
    }
  }

  /** A press of one of a question's buttons. */
  async press(p: { jobId: string; key: string; index: number; user: string }): Promise<PressOutcome> {
    const [job, q] = await Promise.all([this.deps.store.get(p.jobId), this.deps.questions.get(p.jobId, p.key)]);
    if (!job || !q) return { kind: 'refused', message: NO_LONGER_OPEN };
    if (isFinished(job)) {
      await this.jobEnded(job);
      return { kind: 'refused', message: JOB_ENDED };
    }
    const earlier = await this.deps.questions.outcome(q);
    if (earlier) return { kind: 'refused', message: alreadySettled(earlier) };
    if (onlyRequesterOrAdmin(q.kind) && !isRequesterOrAdmin(job, this.deps.catalogue().get(job.project), p.user)) {
      return { kind: 'refused', message: WHO_MAY_APPROVE };
    }
    const option = answerOptions(q)[p.index];
    if (!option) return { kind: 'refused', message: NO_LONGER_OPEN };
    return (await this.settle(job, q, { how: 'answered', answer: option.answer, by: p.user, at: this.now() }))
      ? { kind: 'answered' }
      : { kind: 'refused', message: alreadySettled(await this.deps.questions.outcome(q)) };
  }

  /**
   * A reply in a thread. In a live job's thread, from its requester or an
   * admin, it answers the job's open `text` question if there is one, and is
   * passed to the agent as a follow-up otherwise. Anyone else is left alone,
   * unless a `text` question is open (then they are told who may answer).
   */
  async threadReply(job: JobRecord, r: { user: string; text: string }): Promise<ThreadReplyOutcome> {
    const allowed = isRequesterOrAdmin(job, this.deps.catalogue().get(job.project), r.user);
    if (isFinished(job)) {
      // Talk about a finished job is people's own; only a late answer to its question is refused.
      const askedLast = (await this.deps.questions.unsettledOrEndedText(job.id)) !== undefined;
      return allowed && askedLast ? { kind: 'refused', message: JOB_ENDED } : { kind: 'ignored' };
    }
    const open = (await this.deps.questions.unsettled(job.id)).find((q) => q.kind === 'text');
    if (!allowed) return open ? { kind: 'refused', message: WHO_MAY_REPLY } : { kind: 'ignored' };
    if (open && (await this.settle(job, open, { how: 'answered', answer: r.text, by: r.user, at: this.now() }))) {
      return { kind: 'answered', jobId: job.id };
    }
    await this.deps.controls.send(job.id, { type: 'message', text: r.text, by: r.user });
    return { kind: 'forwarded', jobId: job.id };
  }

  /** Applies the default of every question whose deadline has passed; any replica may run it. */
  async expireDue(): Promise<number> {
    let applied = 0;
    for (const ref of await this.deps.questions.due(this.now())) {
      const [job, q] = await Promise.all([this.deps.store.get(ref.jobId), this.deps.questions.get(ref.jobId, ref.key)]);
      if (!job || !q) {
        await this.deps.questions.forgetDeadline(ref);
        continue;
      }
      const outcome: QuestionOutcome = isFinished(job)
        ? { how: 'ended', at: this.now() }
        : { how: 'timed-out', answer: timeoutAnswer(q), at: this.now() };
      if (await this.settle(job, q, outcome)) applied++;
    }
    return applied;
  }

  /** Marks the questions of a job that ended as unanswered (their messages say so). */
  async jobEnded(job: JobRecord): Promise<void> {
    for (const q of await this.deps.questions.unsettled(job.id)) await this.settle(job, q, { how: 'ended', at: this.now() });
  }

  /** Records the outcome if it is the first; then tells the agent (unless the job ended) and updates the message. */
  private async settle(job: JobRecord, q: StoredQuestion, outcome: QuestionOutcome): Promise<boolean> {
    const result = await this.deps.questions.settle(q, outcome);
    if (!result.won) return false;
    const log = this.deps.logger.child({ jobId: job.id, questionId: q.questionId.slice(0, 80) });
    if (outcome.how !== 'ended') {
      await this.deps.controls.send(job.id, {
        type: 'answer',
        questionId: q.questionId,
        answer: outcome.answer,
        by: outcome.how === 'answered' ? outcome.by : 'timeout',
      });
    }
    log.info({ how: outcome.how, by: outcome.how === 'answered' ? outcome.by : undefined }, 'question settled');
    if (q.messageId) {
      await this.deps.chat
        .update(job, q.messageId, questionMessage(q, outcome))
        .catch((err: unknown) => log.error({ err }, 'could not update the question message'));
    }
    return true;
  }
}

/** The reaction that acknowledges a thread reply which reached the agent. */
export const FOLLOW_UP_REACTION = 'incoming_envelope';
