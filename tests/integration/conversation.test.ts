// The conversation core on the real Redis: questions shown once, answered
// once (double clicks, a timeout racing an answer), approvals only by the
// requester or an admin, defaults applied by any replica's clock, answers after
// the end refused, and thread replies passed on as follow-ups. The chat side is
// a small recording fake of the ConversationChat port.
import { Redis } from 'ioredis';
import { parseCatalogue } from '../../src/config/catalogue.js';
import { keys as keysFor } from '../../src/domain/keys.js';
import { JobStore } from '../../src/state/job-store.js';
import { QuestionStore } from '../../src/state/question-store.js';
import { JobControls } from '../../src/state/job-controls.js';
import { Conversation } from '../../src/jobs/conversation.js';
import { type ConversationChat } from '../../src/jobs/ports.js';
import { parseControlMessage, type ControlMessage } from '../../src/domain/events.js';
import { plainText, type Message } from '../../src/domain/message.js';
import { questionKey, type QuestionEvent } from '../../src/domain/questions.js';
import type { JobRecord } from '../../src/domain/job.js';
import { silentLogger } from '../../src/observability/logger.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { aJob, T0 } from '../support/jobs.js';

const CATALOGUE = parseCatalogue(
  `
projects:
  billing-api:
    repo: https://github.com/acme/billing-api.git
    agent: { command: ["agent", "{prompt}"] }
    admins: [U0ADMIN]
`,
  'test catalogue',
);

const prefix = uniquePrefix();
const keys = keysFor(prefix);
let redis: Redis;
let store: JobStore;
let clock = T0;
let seq = 0;

/** Records what the conversation shows: posts by id, and every update. */
class RecordingChat implements ConversationChat {
  posts = new Map<string, Message>();
  updates: { id: string; message: Message }[] = [];
  async postInThread(_job: JobRecord, message: Message): Promise<string> {
    const id = `m${this.posts.size + 1}`;
    this.posts.set(id, message);
    return id;
  }
  async update(_job: JobRecord, id: string, message: Message): Promise<void> {
    this.updates.push({ id, message });
  }
  /** The words of the newest version of a message. */
  words(id: string): string {
    const m = [...this.updates].reverse().find((u) => u.id === id)?.message ?? this.posts.get(id);
    return (m?.blocks ?? [])
      .map((b) => (b.type === 'section' ? plainText(b.text ?? []) : b.type === 'context' ? b.items.map(plainText).join(' ') : ''))
      .join('\n');
  }
}

function setup() {
  const chat = new RecordingChat();
  const conversation = new Conversation({
    store,
    questions: new QuestionStore(redis, keys),
    controls: new JobControls(redis, keys),
    catalogue: () => CATALOGUE,
    chat,
    logger: silentLogger,
    now: () => clock,
  });
  return { chat, conversation };
}

async function aRunningJob(over: Partial<JobRecord> = {}): Promise<JobRecord> {
  const job = aJob({
    id: `j${String(++seq).padStart(10, '0')}`,
    user: 'U0ALICE',
    state: 'running',
    threadTs: `100.${seq}`,
    channel: 'C0CONV',
    ...over,
  });
  await store.save(job);
  await store.indexThread(job);
  return job;
}

const question = (job: JobRecord, over: Partial<QuestionEvent>): QuestionEvent => ({
  v: 1,
  jobId: job.id,
  seq: 1,
  ts: clock,
  type: 'question',
  questionId: 'q1',
  text: 'Go ahead?',
  kind: 'confirm',
  timeoutSeconds: 60,
  ...over,
});

async function controls(jobId: string): Promise<ControlMessage[]> {
  const entries = await redis.xrange(keys.jobControl(jobId), '-', '+');
  return entries.map(([, f]) => parseControlMessage(f[f.indexOf('m') + 1])).filter((m): m is ControlMessage => m !== undefined);
}

beforeAll(() => {
  redis = new Redis(redisUrl());
  store = new JobStore(redis, keys);
});
afterAll(async () => {
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
});

test('a question is shown once however often its event is read, and a double click answers it once', async () => {
  const { chat, conversation } = setup();
  const job = await aRunningJob();
  await conversation.ask(job, question(job, {}));
  await conversation.ask(job, question(job, {}));
  expect(chat.posts.size).toBe(1);

  const key = questionKey('q1');
  const [first, second] = await Promise.all([
    conversation.press({ jobId: job.id, key, index: 0, user: 'U0BOB' }),
    conversation.press({ jobId: job.id, key, index: 1, user: 'U0CAROL' }),
  ]);
  expect([first.kind, second.kind].sort()).toEqual(['answered', 'refused']);
  const sent = await controls(job.id);
  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatchObject({ type: 'answer', questionId: 'q1' });
  const winner = sent[0]?.type === 'answer' ? sent[0].by : '';
  expect(chat.words('m1')).toContain(`@${winner} answered`);
  const refusal = first.kind === 'refused' ? first : second;
  expect(
    refusal.kind === 'refused' && plainText(refusal.message.blocks[0]?.type === 'section' ? (refusal.message.blocks[0].text ?? []) : []),
  ).toContain('already answered');
});

test('an approval pressed by someone else is refused with who may; the requester and an admin may', async () => {
  const { chat, conversation } = setup();
  const job = await aRunningJob();
  await conversation.ask(job, question(job, { questionId: 'a1', kind: 'approval', text: 'Push to main?' }));
  await conversation.ask(job, question(job, { questionId: 'a2', kind: 'approval', text: 'Delete the branch?' }));
  const wrong = await conversation.press({ jobId: job.id, key: questionKey('a1'), index: 0, user: 'U0BOB' });
  expect(wrong.kind).toBe('refused');
  expect(JSON.stringify(wrong)).toContain('Only the requester or a project admin may answer this approval.');
  expect(JSON.stringify(wrong)).not.toContain('U0ADMIN');
  expect(await controls(job.id)).toEqual([]);

  expect((await conversation.press({ jobId: job.id, key: questionKey('a1'), index: 0, user: 'U0ALICE' })).kind).toBe('answered');
  expect((await conversation.press({ jobId: job.id, key: questionKey('a2'), index: 1, user: 'U0ADMIN' })).kind).toBe('answered');
  expect(await controls(job.id)).toEqual([
    { type: 'answer', questionId: 'a1', answer: 'approve', by: 'U0ALICE' },
    { type: 'answer', questionId: 'a2', answer: 'reject', by: 'U0ADMIN' },
  ]);
  expect(chat.words('m2')).toContain('@U0ADMIN answered reject');
});

test('when the deadline passes the default is sent and shown; a later press is refused', async () => {
  const { chat, conversation } = setup();
  const job = await aRunningJob();
  await conversation.ask(
    job,
    question(job, { questionId: 'c1', kind: 'choice', choices: ['red', 'blue'], default: 'blue', timeoutSeconds: 30 }),
  );
  clock += 29_000;
  expect(await conversation.expireDue()).toBe(0);
  clock += 2000;
  // Two replicas look at once: one applies it.
  const applied = await Promise.all([conversation.expireDue(), setup().conversation.expireDue()]);
  expect(applied.reduce((a, b) => a + b, 0)).toBe(1);
  expect(await controls(job.id)).toEqual([{ type: 'answer', questionId: 'c1', answer: 'blue', by: 'timeout' }]);
  expect(chat.words('m1')).toContain('Nobody answered within 30s: the default blue was applied.');

  const late = await conversation.press({ jobId: job.id, key: questionKey('c1'), index: 0, user: 'U0ALICE' });
  expect(JSON.stringify(late)).toContain('Nobody answered this question in time');
  expect(await controls(job.id)).toHaveLength(1);
});

test('after the job ended, answers are refused politely and open questions say the job ended', async () => {
  const { chat, conversation } = setup();
  const job = await aRunningJob();
  await conversation.ask(job, question(job, { questionId: 'e1' }));
  const ended = { ...job, state: 'done' as const, finishedAt: clock };
  await store.save(ended);
  const press = await conversation.press({ jobId: job.id, key: questionKey('e1'), index: 0, user: 'U0ALICE' });
  expect(JSON.stringify(press)).toContain('This job has ended, so the answer can’t reach the agent any more.');
  expect(chat.words('m1')).toContain('The job ended before this was answered.');
  await conversation.jobEnded(ended); // the supervisor's call at the end: nothing left to close
  expect(chat.updates).toHaveLength(1);
  expect(await controls(job.id)).toEqual([]);
  clock += 120_000;
  expect(await conversation.expireDue()).toBe(0);
});

test('thread replies: a text question is answered by the requester, other replies are follow-ups, others are left alone', async () => {
  const { chat, conversation } = setup();
  const job = await aRunningJob();
  // The thread's job as the chat core finds it (store.byThread) at the time of each reply.
  const reply = async (user: string, text: string) =>
    conversation.threadReply((await store.byThread(job.channel, job.threadTs as string)) as JobRecord, { user, text });

  expect(await reply('U0BOB', 'nice work')).toEqual({ kind: 'ignored' });

  await conversation.ask(job, question(job, { questionId: 't1', kind: 'text', text: 'Name of the flag?' }));
  const stranger = await reply('U0BOB', 'call it FAST');
  expect(stranger.kind).toBe('refused');
  expect(JSON.stringify(stranger)).toContain('Only the requester or a project admin may answer');
  expect(await reply('U0ALICE', 'call it SAFE_MODE')).toEqual({ kind: 'answered', jobId: job.id });
  expect(chat.words('m1')).toContain('@U0ALICE answered call it SAFE_MODE');

  expect(await reply('U0ADMIN', 'also add a test please')).toEqual({ kind: 'forwarded', jobId: job.id });
  expect(await reply('U0BOB', 'and docs')).toEqual({ kind: 'ignored' });
  expect(await controls(job.id)).toEqual([
    { type: 'answer', questionId: 't1', answer: 'call it SAFE_MODE', by: 'U0ALICE' },
    { type: 'message', text: 'also add a test please', by: 'U0ADMIN' },
  ]);

  // After the end: chatter is left alone, and a reply to a text question that ended unanswered is refused.
  await conversation.ask(job, question(job, { questionId: 't2', kind: 'text', text: 'Anything else?' }));
  const ended = { ...job, state: 'failed' as const, finishedAt: clock };
  await store.save(ended);
  await conversation.jobEnded(ended);
  expect(JSON.stringify(await reply('U0ALICE', 'no'))).toContain('This job has ended');
  expect(await reply('U0BOB', 'too bad')).toEqual({ kind: 'ignored' });
  expect(await controls(job.id)).toHaveLength(2);
});
