// Questions waiting for an answer, in Redis, so that any replica can take an
// answer, and any replica applies the default when a deadline passes (also
// after the replica that posted the question died). A question's outcome is
// written once (SET NX): of a double click, two replicas, and a timeout racing
// an answer, exactly one wins and only that one reaches the agent.
import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';
import type { AskedQuestion, QuestionOutcome } from '../domain/questions.js';
import { JOB_RECORD_TTL_SECONDS } from './job-store.js';

export interface StoredQuestion extends AskedQuestion {
  /** The chat message showing it (Slack: ts), once posted. */
  messageId?: string;
}

export class QuestionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Records a new question and its deadline; false when it was already recorded (a re-read event). */
  async open(q: StoredQuestion): Promise<boolean> {
    const created = await this.redis.set(this.keys.jobQuestion(q.jobId, q.key), JSON.stringify(q), 'EX', JOB_RECORD_TTL_SECONDS, 'NX');
    if (created !== 'OK') return false;
    await this.redis
      .multi()
      .zadd(this.keys.questionDeadlines, q.deadline, member(q))
      .rpush(this.keys.jobQuestions(q.jobId), q.key)
      .expire(this.keys.jobQuestions(q.jobId), JOB_RECORD_TTL_SECONDS)
      .exec();
    return true;
  }

  async setMessageId(q: StoredQuestion, messageId: string): Promise<void> {
    await this.redis.set(this.keys.jobQuestion(q.jobId, q.key), JSON.stringify({ ...q, messageId }), 'KEEPTTL');
  }

  async get(jobId: string, key: string): Promise<StoredQuestion | undefined> {
    const raw = await this.redis.get(this.keys.jobQuestion(jobId, key));
    return raw === null ? undefined : (JSON.parse(raw) as StoredQuestion);
  }

  async outcome(q: Pick<AskedQuestion, 'jobId' | 'key'>): Promise<QuestionOutcome | undefined> {
    const raw = await this.redis.get(this.keys.jobQuestionOutcome(q.jobId, q.key));
    return raw === null ? undefined : (JSON.parse(raw) as QuestionOutcome);
  }

  /**
   * Ends the question with `outcome` if nothing ended it before. Returns
   * `{ won: true }` for the one caller whose outcome counts, else the outcome
   * that came first.
   */
  async settle(
    q: Pick<AskedQuestion, 'jobId' | 'key'>,
    outcome: QuestionOutcome,
  ): Promise<{ won: true } | { won: false; first: QuestionOutcome | undefined }> {
    const set = await this.redis.set(
      this.keys.jobQuestionOutcome(q.jobId, q.key),
      JSON.stringify(outcome),
      'EX',
      JOB_RECORD_TTL_SECONDS,
      'NX',
    );
    if (set === 'OK') {
      await this.redis.zrem(this.keys.questionDeadlines, member(q));
      return { won: true };
    }
    return { won: false, first: await this.outcome(q) };
  }

  /** A job's questions that nothing has ended yet, oldest first. */
  async unsettled(jobId: string): Promise<StoredQuestion[]> {
    const qkeys = await this.redis.lrange(this.keys.jobQuestions(jobId), 0, -1);
    const out: StoredQuestion[] = [];
    for (const key of qkeys) {
      const q = await this.get(jobId, key);
      if (q && !(await this.outcome(q))) out.push(q);
    }
    return out;
  }

  /** The job's last `text` question, if it was still open or ended with the job (a reply may be a late answer to it). */
  async unsettledOrEndedText(jobId: string): Promise<StoredQuestion | undefined> {
    const last = await this.redis.lindex(this.keys.jobQuestions(jobId), -1);
    const q = last === null ? undefined : await this.get(jobId, last);
    if (!q || q.kind !== 'text') return undefined;
    const outcome = await this.outcome(q);
    return outcome === undefined || outcome.how === 'ended' ? q : undefined;
  }

  /** Questions whose deadline has passed (a few at a time), as `{ jobId, key }`. */
  async due(now: number, count = 20): Promise<{ jobId: string; key: string }[]> {
    const members = await this.redis.zrangebyscore(this.keys.questionDeadlines, 0, now, 'LIMIT', 0, count);
    return members.flatMap((m) => {
      const [jobId, key] = m.split(':');
      return jobId && key ? [{ jobId, key }] : [];
    });
  }

  /** Drops a deadline whose question is gone (expired with its job). */
  async forgetDeadline(ref: { jobId: string; key: string }): Promise<void> {
    await this.redis.zrem(this.keys.questionDeadlines, member(ref));
  }
}

const member = (q: Pick<AskedQuestion, 'jobId' | 'key'>) => `${q.jobId}:${q.key}`;
