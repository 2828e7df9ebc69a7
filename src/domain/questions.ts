// Questions an agent asks through the line protocol (DESIGN §5 `question`),
// and how the chat answers them. Pure: the answers each kind offers, who may
// answer, what a timeout applies, and the button values that carry a press.
import { createHash } from 'node:crypto';
import { ACTIONS } from './actions.js';
import type { AgentEvent } from './events.js';
import type { JobRecord } from './job.js';
import type { Project } from './project.js';

export type QuestionEvent = Extract<AgentEvent, { type: 'question' }>;
export type QuestionKind = QuestionEvent['kind'];

/** A question as the dispatcher keeps it while it waits for an answer (state/question-store.ts). */
export interface AskedQuestion {
  jobId: string;
  questionId: string;
  /** A short, safe stand-in for questionId (which is the agent's free text) in keys and button values. */
  key: string;
  kind: QuestionKind;
  text: string;
  choices?: string[];
  default?: string;
  timeoutSeconds: number;
  /** When the default is applied, epoch milliseconds. */
  deadline: number;
}

/** How a question ended: answered by someone, timed out (the default was sent), or its job ended first. */
export type QuestionOutcome =
  | { how: 'answered'; answer: string; by: string; at: number }
  | { how: 'timed-out'; answer: string; at: number }
  | { how: 'ended'; at: number };

export interface AnswerOption {
  label: string;
  /** What the agent receives. */
  answer: string;
  style?: 'primary' | 'danger';
}

/** Slack shows at most 25 buttons in one row; more choices than that are not offered. */
export const MAX_CHOICES = 25;

/** The buttons of a question; a `text` question has none (it is answered by a thread reply). */
export function answerOptions(q: Pick<AskedQuestion, 'kind' | 'choices'>): AnswerOption[] {
  switch (q.kind) {
    case 'confirm':
      return [
        { label: 'Yes', answer: 'yes', style: 'primary' },
        { label: 'No', answer: 'no' },
      ];
    case 'approval':
      return [
        { label: 'Approve', answer: 'approve', style: 'primary' },
        { label: 'Reject', answer: 'reject', style: 'danger' },
      ];
    case 'choice':
      return [...new Set(q.choices ?? [])].slice(0, MAX_CHOICES).map((c) => ({ label: c, answer: c }));
    case 'text':
      return [];
  }
}

/**
 * What a timeout sends: the question's default, else the safe answer — `no`
 * to a confirm, `reject` to an approval, and an empty answer to a choice or a
 * text (the agent learns nobody chose).
 */
export function timeoutAnswer(q: Pick<AskedQuestion, 'kind' | 'default'>): string {
  if (q.default !== undefined) return q.default;
  return q.kind === 'confirm' ? 'no' : q.kind === 'approval' ? 'reject' : '';
}

/**
 * An `approval` and a `text` question (answered by a thread reply, like any
 * follow-up) are for the job's requester and the project's admins; anyone who
 * sees a `confirm` or `choice` may press it.
 */
export function onlyRequesterOrAdmin(kind: QuestionKind): boolean {
  return kind === 'approval' || kind === 'text';
}

/** The job's requester or one of its project's admins (DESIGN §2: Cancel, Retry, approvals, follow-ups). */
export function isRequesterOrAdmin(job: Pick<JobRecord, 'user'>, project: Pick<Project, 'admins'> | undefined, user: string): boolean {
  return user === job.user || (project?.admins.includes(user) ?? false);
}

export function questionKey(questionId: string): string {
  return createHash('sha256').update(questionId).digest('hex').slice(0, 16);
}

export function askedQuestion(jobId: string, e: QuestionEvent, now: number): AskedQuestion {
  const q: AskedQuestion = {
    jobId,
    questionId: e.questionId,
    key: questionKey(e.questionId),
    kind: e.kind,
    text: e.text,
    timeoutSeconds: e.timeoutSeconds,
    deadline: now + e.timeoutSeconds * 1000,
  };
  if (e.choices !== undefined) q.choices = e.choices;
  if (e.default !== undefined) q.default = e.default;
  return q;
}

/** A button press names the job, the question and the option: `<jobId>:<key>:<index>`. */
export function answerValue(q: Pick<AskedQuestion, 'jobId' | 'key'>, index: number): string {
  return `${q.jobId}:${q.key}:${index}`;
}

export function parseAnswerValue(value: string | undefined): { jobId: string; key: string; index: number } | undefined {
  const m = /^([a-z0-9]{1,40}):([0-9a-f]{16}):(\d{1,2})$/.exec(value ?? '');
  if (!m) return undefined;
  return { jobId: m[1] as string, key: m[2] as string, index: Number(m[3]) };
}

/** The action id of every answer button (the renderer numbers repeats within one message). */
export const ANSWER_ACTION = ACTIONS.answerQuestion;
