// The question message of every kind, open and settled, as Block Kit: golden
// files (UPDATE_GOLDEN=1 rewrites them), and the answers, values and
// permissions each kind carries.
import { renderMessage } from '../../../src/slack/render/block-kit.js';
import { questionMessage } from '../../../src/domain/question-messages.js';
import {
  answerOptions,
  answerValue,
  askedQuestion,
  isRequesterOrAdmin,
  onlyRequesterOrAdmin,
  parseAnswerValue,
  questionKey,
  timeoutAnswer,
  type AskedQuestion,
  type QuestionEvent,
} from '../../../src/domain/questions.js';
import { plainText } from '../../../src/domain/message.js';
import { validateBlocks } from '../../support/slack-emulator/block-kit.js';
import { expectGolden } from '../../support/golden.js';
import { aJob, T0 } from '../../support/jobs.js';

const event = (over: Partial<QuestionEvent>): QuestionEvent => ({
  v: 1,
  jobId: 'j0000000001',
  seq: 4,
  ts: T0,
  type: 'question',
  questionId: 'q1',
  text: 'Run the database migration now?',
  kind: 'confirm',
  timeoutSeconds: 300,
  ...over,
});

const QUESTIONS: Record<string, AskedQuestion> = {
  confirm: askedQuestion('j0000000001', event({ default: 'no' }), T0),
  choice: askedQuestion(
    'j0000000001',
    event({
      questionId: 'q2',
      kind: 'choice',
      text: 'Which database should the migration target?',
      choices: ['postgres', 'mysql', 'sqlite'],
      default: 'postgres',
    }),
    T0,
  ),
  approval: askedQuestion(
    'j0000000001',
    event({ questionId: 'q3', kind: 'approval', text: 'Push the fix to main?', timeoutSeconds: 120 }),
    T0,
  ),
  text: askedQuestion(
    'j0000000001',
    event({ questionId: 'q4', kind: 'text', text: 'What should the new setting be called?', timeoutSeconds: 600 }),
    T0,
  ),
};

describe('question messages: golden files', () => {
  test.each(Object.keys(QUESTIONS))('%s, open', (kind) => {
    const rendered = renderMessage(questionMessage(QUESTIONS[kind] as AskedQuestion));
    expect(validateBlocks(rendered.blocks)).toEqual([]);
    expectGolden('unit', `question-${kind}`, rendered);
  });

  test.each([
    ['answered', { how: 'answered', answer: 'mysql', by: 'U0BOB', at: T0 + 5000 }],
    ['timed-out', { how: 'timed-out', answer: 'postgres', at: T0 + 300_000 }],
    ['ended', { how: 'ended', at: T0 + 9000 }],
  ] as const)('choice, %s', (name, outcome) => {
    const rendered = renderMessage(questionMessage(QUESTIONS.choice as AskedQuestion, outcome));
    expect(validateBlocks(rendered.blocks)).toEqual([]);
    expect(JSON.stringify(rendered.blocks)).not.toContain('"actions"');
    expectGolden('unit', `question-choice-${name}`, rendered);
  });

  test('the golden "question" file: a choice question as the thread shows it', () => {
    expectGolden('unit', 'question', renderMessage(questionMessage(QUESTIONS.choice as AskedQuestion)));
  });

  test('a timeout without a default says the agent is told there is no answer', () => {
    const q = QUESTIONS.text as AskedQuestion;
    expect(plainText(questionMessage(q).blocks.flatMap((b) => (b.type === 'context' ? b.items.flat() : [])))).toContain(
      'the agent is told there is no answer',
    );
    const settled = questionMessage(q, { how: 'timed-out', answer: '', at: T0 });
    expect(JSON.stringify(settled)).toContain('the agent was told there is no answer');
  });
});

describe('what each kind offers', () => {
  it('buttons: yes/no, approve/reject, one per distinct choice (at most 25), none for text', () => {
    expect(answerOptions({ kind: 'confirm' }).map((o) => o.answer)).toEqual(['yes', 'no']);
    expect(answerOptions({ kind: 'approval' }).map((o) => o.answer)).toEqual(['approve', 'reject']);
    expect(answerOptions({ kind: 'choice', choices: ['a', 'b', 'a'] }).map((o) => o.answer)).toEqual(['a', 'b']);
    expect(answerOptions({ kind: 'choice', choices: Array.from({ length: 40 }, (_, i) => `c${i}`) })).toHaveLength(25);
    expect(answerOptions({ kind: 'text' })).toEqual([]);
  });

  it('a timeout applies the default, else the safe answer', () => {
    expect(timeoutAnswer({ kind: 'confirm', default: 'yes' })).toBe('yes');
    expect(timeoutAnswer({ kind: 'confirm' })).toBe('no');
    expect(timeoutAnswer({ kind: 'approval' })).toBe('reject');
    expect(timeoutAnswer({ kind: 'choice' })).toBe('');
    expect(timeoutAnswer({ kind: 'text' })).toBe('');
  });

  it('approvals and text answers are for the requester and the admins', () => {
    expect(['confirm', 'choice', 'approval', 'text'].filter((k) => onlyRequesterOrAdmin(k as AskedQuestion['kind']))).toEqual([
      'approval',
      'text',
    ]);
    const job = aJob({ user: 'U0ALICE' });
    expect(isRequesterOrAdmin(job, { admins: ['U0ADMIN'] }, 'U0ALICE')).toBe(true);
    expect(isRequesterOrAdmin(job, { admins: ['U0ADMIN'] }, 'U0ADMIN')).toBe(true);
    expect(isRequesterOrAdmin(job, { admins: ['U0ADMIN'] }, 'U0BOB')).toBe(false);
    expect(isRequesterOrAdmin(job, undefined, 'U0BOB')).toBe(false);
  });

  it('button values name job, question and option, and nothing else parses', () => {
    const q = QUESTIONS.choice as AskedQuestion;
    expect(parseAnswerValue(answerValue(q, 2))).toEqual({ jobId: 'j0000000001', key: questionKey('q2'), index: 2 });
    for (const bad of [
      undefined,
      '',
      'j1:zz:1',
      `j1:${questionKey('q')}:`,
      `../x:${questionKey('q')}:1`,
      `j1:${questionKey('q')}:1:extra`,
    ]) {
      expect(parseAnswerValue(bad)).toBeUndefined();
    }
  });

  it('the deadline is when the question was shown plus its timeout', () => {
    expect((QUESTIONS.approval as AskedQuestion).deadline).toBe(T0 + 120_000);
  });
});
