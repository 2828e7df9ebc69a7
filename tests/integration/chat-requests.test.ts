// What the bot answers, with the real parts behind it: Redis for the lock and
// job records, the Slack emulator (through the real WebClient) for the status
// message, and a catalogue parsed from YAML. The queue is a list we read back.
import { Redis } from 'ioredis';
import { chatEvent } from '../../src/chat/chat-event.js';
import { parseCatalogue } from '../../src/config/catalogue.js';
import { keys as keysFor } from '../../src/domain/keys.js';
import { ChannelLock } from '../../src/state/channel-lock.js';
import { JobStore } from '../../src/state/job-store.js';
import { JobRequests } from '../../src/jobs/job-requests.js';
import { JobControl } from '../../src/jobs/job-control.js';
import { JobControls } from '../../src/state/job-controls.js';
import { ChatRequests } from '../../src/chat/chat-requests.js';
import { type ChatRequest } from '../../src/chat/replies.js';
import type { QueuedJobData } from '../../src/jobs/job-queue.js';
import { SlackJobNotifier } from '../../src/slack/slack-job-notifier.js';
import { silentLogger } from '../../src/observability/logger.js';
import { SlackEmulator } from '../support/slack-emulator/index.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { testDelivery } from '../support/slack-delivery.js';
import type { SlackDelivery } from '../../src/slack/delivery/index.js';
import { FreeTextConfirmations, FreeTextReader, registerReadingButtons, type LightRoute } from '../../src/chat/free-text.js';
import { PendingReadings } from '../../src/state/pending-readings.js';
import { ChatActions } from '../../src/chat/chat-actions.js';
import { ACTIONS } from '../../src/domain/actions.js';
import { plainText } from '../../src/domain/message.js';

const CATALOGUE = parseCatalogue(
  `
projects:
  billing-api:
    repo: https://github.com/acme/billing-api.git
    tracker: { type: github, repo: acme/billing-api }
    agent: { command: ["agent", "{prompt}"] }
  payments:
    repo: https://github.com/acme/payments.git
    agent: { command: ["agent", "{prompt}"] }
    channels: [C0PAYMENTS]
  local-llm:
    repo: https://github.com/acme/llm.git
    agent: { backend: ollama, model: "qwen2.5-coder:32b" }
  vault:
    repo: https://github.com/acme/vault.git
    tracker: { type: github, repo: acme/vault }
    agent: { command: ["agent", "{prompt}"] }
    users: [U0ALICE]
    admins: [U0BOSS]
`,
  'test catalogue',
);

let emu: SlackEmulator;
let redis: Redis;
let prefix: string;
let queued: QueuedJobData[];
let chat: ChatRequests;
let lock: ChannelLock;
let delivery: SlackDelivery;
let servesInference = true;
let actions: ChatActions;
/** The light route's next answer (undefined: the route is off), and what it was asked. */
let lightAnswer: string | undefined;
let lightAsked: string[];
const light: LightRoute = {
  async complete(prompt) {
    lightAsked.push(prompt.user);
    return lightAnswer ?? '';
  },
};

const say = (text: string, over: Partial<ChatRequest> = {}): ChatRequest => ({
  text,
  channel: 'C0GENERAL',
  user: 'U0ALICE',
  addressed: true,
  threadTs: '1700000000.000100',
  ...over,
});

beforeAll(async () => {
  emu = await SlackEmulator.start();
});
afterAll(async () => {
  await emu.close();
});

beforeEach(() => {
  redis = new Redis(redisUrl());
  prefix = uniquePrefix();
  const k = keysFor(prefix);
  lock = new ChannelLock(redis, k);
  const store = new JobStore(redis, k);
  delivery = testDelivery({ emu, redis, prefix });
  const notifier = new SlackJobNotifier(delivery);
  queued = [];
  const jobs = new JobRequests({
    catalogue: () => CATALOGUE,
    lock,
    store,
    notifier,
    enqueue: async (data) => void queued.push(data),
    lockLeaseMs: 60_000,
    logger: silentLogger,
    servesInference: () => servesInference,
  });
  const control = new JobControl({
    store,
    lock,
    controls: new JobControls(redis, k),
    // Jobs here are never taken by a worker: a cancelled one is always still waiting.
    queue: {
      remove: async (id) => queued.some((q) => q.jobId === id),
      lineUp: async () => ({ running: [], waiting: queued.map((q) => q.jobId) }),
    },
    requests: jobs,
    catalogue: () => CATALOGUE,
    endWithoutAgent: async (j) => {
      await store.save(j);
      await lock.release(j.channel, j.id);
    },
    threadLink: (j) => notifier.threadLink(j),
    logger: silentLogger,
  });
  lightAnswer = undefined;
  lightAsked = [];
  // Free text is on only while a test gives the light route an answer.
  const reader = new FreeTextReader({ light, logger: silentLogger });
  const confirmations = new FreeTextConfirmations({ reader, readings: new PendingReadings(redis, (id) => k.pendingReading(id)) });
  const freeText = {
    interpret: (...args: Parameters<FreeTextConfirmations['interpret']>) =>
      lightAnswer === undefined ? Promise.resolve(undefined) : confirmations.interpret(...args),
  } as FreeTextConfirmations;
  chat = new ChatRequests({ jobs, control, catalogue: () => CATALOGUE, lock, store, threadLink: (j) => notifier.threadLink(j), freeText });
  actions = new ChatActions({ requests: chat, control, logger: silentLogger });
  registerReadingButtons(actions, confirmations, chat);
});

afterEach(async () => {
  await delivery.close();
  if (redis.status === 'end') return; // the test closed it
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
});

test('fix #58 in billing-api queues one job, posts its status message in the thread and holds the channel', async () => {
  const reply = await chat.handle(say('fix #58 in billing-api'));
  expect(reply.kind).toBe('queued');
  expect(queued).toHaveLength(1);
  expect(await lock.holder('C0GENERAL')).toBe(queued[0]?.jobId);
  const status = emu.messages({ channel: 'C0GENERAL', thread_ts: '1700000000.000100' }).find((m) => m.bot_id);
  expect(status?.text).toContain('billing-api #58');
});

test('a second request in a busy channel is refused with the running job, and nothing is queued', async () => {
  // As from the slash command: no request message, so the status message opens the thread.
  await chat.handle(say('fix #58 in billing-api', { threadTs: undefined }));
  const reply = await chat.handle(say('fix #59 in billing-api', { user: 'U0BOB' }));
  expect(reply.kind).toBe('busy');
  expect(reply.kind === 'busy' && reply.running?.issue).toBe(58);
  expect(reply.kind === 'busy' && reply.link).toContain('/archives/C0GENERAL/');
  expect(queued).toHaveLength(1);
});

test('the repository form finds the project', async () => {
  const reply = await chat.handle(say('fix https://github.com/acme/billing-api/issues/7'));
  expect(reply.kind === 'queued' && reply.job.project).toBe('billing-api');
});

test('an unknown project is refused with the projects this channel may use', async () => {
  const reply = await chat.handle(say('fix #1 in nope'));
  expect(reply).toEqual({ kind: 'rejected', message: expect.stringContaining("I don't know a project called `nope`") });
  expect(reply.kind === 'rejected' && reply.message).toContain('`billing-api`');
  expect(reply.kind === 'rejected' && reply.message).not.toContain('`payments`');
  expect(queued).toHaveLength(0);
  expect(await lock.holder('C0GENERAL')).toBeNull();
});

test('a project pinned to other channels is refused with where to ask', async () => {
  const reply = await chat.handle(say('fix #3 in payments'));
  expect(reply).toEqual({ kind: 'rejected', message: "payments can't be started from this channel.", channels: ['C0PAYMENTS'] });
  expect(queued).toHaveLength(0);
});

test('fix #5 without a project: the channel pinned project, else a question which', async () => {
  const pinned = await chat.handle(say('fix #5', { channel: 'C0PAYMENTS' }));
  expect(pinned.kind === 'queued' && pinned.job.project).toBe('payments');
  const ask = await chat.handle(say('fix #5'));
  expect(ask.kind === 'rejected' && ask.message).toMatch(/Which project\?/);
});

test('a project on the built-in ollama agent is queued when the dispatcher serves inference', async () => {
  const reply = await chat.handle(say('fix #2 in local-llm'));
  expect(reply.kind === 'queued' && reply.job.project).toBe('local-llm');
  expect(queued).toHaveLength(1);
});

test('without inference, a project on the built-in ollama agent is refused with what to do instead', async () => {
  servesInference = false;
  try {
    const reply = await chat.handle(say('fix #2 in local-llm'));
    expect(reply.kind === 'rejected' && reply.message).toMatch(/serves no inference.*OLLAMA_URL.*agent\.command/);
    expect(queued).toHaveLength(0);
  } finally {
    servesInference = true;
  }
});

test('projects, status and help', async () => {
  const projects = await chat.handle(say('projects'));
  expect(projects.kind === 'projects' && projects.projects.map((p) => p.name)).toContain('billing-api');
  expect(await chat.handle(say('status'))).toEqual({ kind: 'status', job: undefined, link: undefined });
  await chat.handle(say('fix #58 in billing-api'));
  const status = await chat.handle(say('status'));
  expect(status.kind === 'status' && status.job?.issue).toBe(58);
  expect((await chat.handle(say('help'))).kind).toBe('help');
});

test('chatter that is not addressed to the bot is ignored', async () => {
  expect(await chat.handle(say('I will fix the build later', { addressed: false }))).toEqual({ kind: 'silent' });
});

test('when Redis is gone, the answer is an internal error with a ref, and the error is reported', async () => {
  redis.disconnect();
  const errors: Error[] = [];
  const reply = await chat.answer(say('fix #58 in billing-api'), 'Ev0REF', (e) => errors.push(e));
  expect(reply).toEqual({ kind: 'internal-error', ref: 'Ev0REF' });
  expect(errors).toHaveLength(1);
  expect(queued).toHaveLength(0);
});

describe('limits and permissions (issue 5)', () => {
  test('a 40,000-character message is refused unread when addressed to the bot, and ignored as chatter', async () => {
    const huge = `fix #58 in billing-api ${'.'.repeat(40_000)}`;
    expect(await chat.handle(say(huge))).toEqual({ kind: 'too-long', length: huge.length, limit: 4000 });
    expect(await chat.handle(say(huge, { addressed: false }))).toEqual({ kind: 'silent' });
    expect(await chat.handle(say(`<@U0BOT> ${huge}`, { addressed: false, botUserId: 'U0BOT' }))).toMatchObject({ kind: 'too-long' });
    expect(queued).toHaveLength(0);
    // At the cap it is still read.
    expect((await chat.handle(say(`fix #58 in billing-api${' '.repeat(4000 - 22)}`))).kind).toBe('queued');
  });

  test('a project the sender may not use gets the same answer as one that does not exist, naming only usable projects', async () => {
    const mallory = { user: 'U0MALLORY' };
    const forbidden = await chat.handle(say('fix #1 in vault', mallory));
    const unknown = await chat.handle(say('fix #1 in vaulx', mallory));
    expect(forbidden.kind === 'rejected' && forbidden.message.replace('vault', 'X')).toBe(
      unknown.kind === 'rejected' && unknown.message.replace('vaulx', 'X'),
    );
    const byRepo = await chat.handle(say('fix acme/vault#1', mallory));
    const unknownRepo = await chat.handle(say('fix acme/vaulx#1', mallory));
    expect(byRepo.kind === 'rejected' && byRepo.message.replace('acme/vault', 'X')).toBe(
      unknownRepo.kind === 'rejected' && unknownRepo.message.replace('acme/vaulx', 'X'),
    );
    for (const r of [forbidden, byRepo]) {
      // It echoes what was asked, and offers only what this sender may use; no admins.
      expect(JSON.stringify(r)).not.toContain('U0BOSS');
      const offered = r.kind === 'rejected' ? (r.message.split('Projects you can use here:')[1] ?? '') : '';
      expect(offered).toContain('`billing-api`');
      expect(offered).not.toContain('vault');
    }
    const projects = await chat.handle(say('projects', mallory));
    expect(projects.kind === 'projects' && projects.projects.map((p) => p.name)).not.toContain('vault');
    expect(queued).toHaveLength(0);
    expect((await chat.handle(say('fix #1 in vault'))).kind).toBe('queued');
  });

  test('a DM does not dispatch a project without allowDMs', async () => {
    const reply = await chat.handle(say('fix #58 in billing-api', { channel: 'D0DM00001', sender: { dm: true } }));
    expect(reply).toEqual({ kind: 'rejected', message: "billing-api can't be started from a direct message: ask in a channel." });
    expect(queued).toHaveLength(0);
  });

  test('a sender from another team is refused unless the project lists them', async () => {
    const external = { user: 'U0PARTNER', sender: { external: true } };
    const reply = await chat.handle(say('fix #58 in billing-api', external));
    expect(reply.kind === 'rejected' && reply.message).toMatch(
      /I don't know a project called `billing-api` that you can use\. No project is open to you here/,
    );
    expect(queued).toHaveLength(0);
    // Listed by name: allowed, and the record says so for the run-time re-check.
    const listed = await chat.handle(say('fix #7 in vault', { user: 'U0ALICE', sender: { external: true } }));
    expect(listed.kind === 'queued' && listed.job.external).toBe(true);
  });
});

describe('Cancel, Retry, list and thread text (issue 7)', () => {
  const THREAD = '1700000000.000100';
  const inThread = (text: string, user: string) => say(text, { user, threadTs: THREAD, messageTs: '1700000000.000900', addressed: false });

  test('cancel: others are told who may; the requester cancels the queued job, which frees the channel; again is harmless', async () => {
    const queuedReply = await chat.handle(say('fix #58 in billing-api', { messageTs: THREAD }));
    const job = queuedReply.kind === 'queued' ? queuedReply.job : undefined;
    expect(job?.requestTs).toBe(THREAD);

    const refused = await chat.handle(inThread('stop', 'U0MALLORY'));
    expect(refused).toMatchObject({ kind: 'not-allowed', action: 'cancel', job: { id: job?.id } });
    expect(await lock.holder('C0GENERAL')).toBe(job?.id);

    const cancelled = await chat.handle(inThread('cancel', 'U0ALICE'));
    expect(cancelled).toMatchObject({ kind: 'cancelled-queued', job: { id: job?.id, state: 'cancelled', cancelledBy: 'U0ALICE' } });
    expect(await lock.holder('C0GENERAL')).toBeNull();
    expect(await chat.handle(inThread('cancel', 'U0ALICE'))).toMatchObject({ kind: 'already-finished', action: 'cancel' });
    // Nothing left in the channel to cancel from outside the thread.
    expect(await chat.handle(say('cancel', { threadTs: '1700000000.000999', messageTs: '1700000000.000999' }))).toEqual({
      kind: 'no-job',
      action: 'cancel',
    });
  });

  test("a project admin may cancel someone else's job", async () => {
    await chat.handle(say('fix #1 in vault', { channel: 'C0VAULT', user: 'U0ALICE' }));
    expect((await chat.handle(say('cancel', { channel: 'C0VAULT', user: 'U0BOSS' }))).kind).toBe('cancelled-queued');
  });

  test('retry in the thread of a cancelled job queues the same request again, linked to the old job', async () => {
    await chat.handle(say('fix #58 in billing-api', { messageTs: THREAD }));
    await chat.handle(inThread('cancel', 'U0ALICE'));
    expect((await chat.handle(inThread('retry', 'U0MALLORY'))).kind).toBe('not-allowed');
    const retried = await chat.handle(inThread('retry', 'U0ALICE'));
    expect(retried.kind).toBe('retried');
    const next = retried.kind === 'retried' && retried.outcome.kind === 'queued' ? retried.outcome.job : undefined;
    expect(next).toMatchObject({ project: 'billing-api', issue: 58, request: 'fix #58 in billing-api', user: 'U0ALICE', state: 'queued' });
    expect(next?.retryOf?.jobId).toBe(retried.kind === 'retried' ? retried.previous.id : '');
    expect(next?.threadTs).not.toBe(THREAD);
    expect(queued).toHaveLength(2);
    // `retry` outside any job's thread points at nothing.
    expect(await chat.handle(say('retry', { threadTs: '1700000000.000999', messageTs: '1700000000.000999' }))).toEqual({
      kind: 'no-job',
      action: 'retry',
    });
  });

  test('list shows the queued jobs a person may see, with places; a project they may not use stays hidden', async () => {
    await chat.handle(say('fix #58 in billing-api'));
    await chat.handle(say('fix #2 in vault', { channel: 'C0VAULT' }));
    const mine = await chat.handle(say('list'));
    expect(mine.kind === 'list' && mine.jobs.map((l) => [l.job.project, l.position])).toEqual([
      ['billing-api', 1],
      ['vault', 2],
    ]);
    const theirs = await chat.handle(say('jobs', { user: 'U0MALLORY' }));
    expect(theirs.kind === 'list' && theirs.jobs.map((l) => l.job.project)).toEqual(['billing-api']);
  });

  test("other text in a job's thread goes to the thread-text handlers, commands first", async () => {
    await chat.handle(say('fix #58 in billing-api', { messageTs: THREAD }));
    const heard: string[] = [];
    chat.onThreadText(async ({ text, job }) => (heard.push(`${job.issue}:${text}`), { kind: 'info', text: 'passed on' }));
    expect(await chat.handle(inThread('also update the changelog', 'U0ALICE'))).toEqual({ kind: 'info', text: 'passed on' });
    expect((await chat.handle(inThread('status', 'U0ALICE'))).kind).toBe('status');
    // Not in a job's thread: chatter stays chatter.
    expect(
      await chat.handle(
        say('also update the changelog', { addressed: false, threadTs: '1700000000.000999', messageTs: '1700000000.000998' }),
      ),
    ).toEqual({ kind: 'silent' });
    expect(heard).toEqual(['58:also update the changelog']);
  });
});

describe('free text the grammar does not understand', () => {
  test('without a light route: "I didn\'t understand", and the model is never asked', async () => {
    const reply = await chat.handle(say('could you have a look at 58 in billing please'));
    expect(reply.kind).toBe('not-understood');
    expect(lightAsked).toEqual([]);
  });

  test('an answer that is no valid reading: "I didn\'t understand"', async () => {
    lightAnswer = 'Sure, I will fix issue 58 for you!';
    expect((await chat.handle(say('could you have a look at 58 in billing please'))).kind).toBe('not-understood');
    lightAnswer = '{"intent":"deploy"}';
    expect((await chat.handle(say('ship it'))).kind).toBe('not-understood');
    expect(lightAsked).toHaveLength(2);
    expect(queued).toHaveLength(0);
  });

  test('a reading is shown with Run and Cancel, runs nothing until its requester presses Run, and runs once', async () => {
    lightAnswer = '{"intent":"fix","issue":58,"project":"billing-api"}';
    const reply = await chat.handle(say('could you have a look at 58 in billing please'));
    expect(reply).toMatchObject({ kind: 'reading', command: 'fix #58 in billing-api', user: 'U0ALICE' });
    // Only projects this person may use here are named to the model; the words go as untrusted JSON.
    expect(lightAsked[0]).toBe(`Chat message (untrusted, JSON): ${JSON.stringify('could you have a look at 58 in billing please')}`);
    expect(queued).toHaveLength(0);
    const id = reply.kind === 'reading' ? reply.id : '';

    const shown = (
      await actions.said({ ...say('could you have a look at 58 in billing please'), surface: 'mention' }, chatEvent(silentLogger, 'Ev1'))
    ).message;
    const buttons = shown?.blocks.flatMap((b) => (b.type === 'actions' ? b.buttons : [])) ?? [];
    expect(buttons.map((b) => [b.actionId, b.label])).toEqual([
      [ACTIONS.runReading, 'Run'],
      [ACTIONS.dropReading, 'Cancel'],
    ]);

    const press = (actionId: string, user: string) =>
      actions.pressed({ actionId, value: id, user, channel: 'C0GENERAL' }, chatEvent(silentLogger, 'Ev2'));
    const mallory = await press(ACTIONS.runReading, 'U0MALLORY');
    expect(mallory.reply).toMatchObject({ kind: 'reading-not-yours', requester: 'U0ALICE' });
    expect(plainText(mallory.message?.blocks[0]?.type === 'section' ? (mallory.message.blocks[0].text ?? []) : [])).toContain(
      'Only @U0ALICE, who asked, may run or cancel',
    );
    expect((await press(ACTIONS.dropReading, 'U0MALLORY')).reply.kind).toBe('reading-not-yours');
    expect(queued).toHaveLength(0);

    const run = await press(ACTIONS.runReading, 'U0ALICE');
    expect(run.reply).toMatchObject({
      kind: 'queued',
      job: { project: 'billing-api', issue: 58, user: 'U0ALICE', threadTs: '1700000000.000100' },
    });
    expect(queued).toHaveLength(1);
    expect((await press(ACTIONS.runReading, 'U0ALICE')).reply.kind).toBe('reading-gone');
    expect(queued).toHaveLength(1);
  });

  test("Run goes through the grammar's permission checks, and Cancel drops the reading", async () => {
    lightAnswer = '{"intent":"fix","issue":3,"project":"vault"}';
    const bob = say('please fix three in the vault', { user: 'U0BOB' });
    const reading = await chat.handle(bob);
    expect(reading).toMatchObject({ kind: 'reading', command: 'fix #3 in vault' });
    const run = await actions.pressed(
      { actionId: ACTIONS.runReading, value: reading.kind === 'reading' ? reading.id : '', user: 'U0BOB' },
      chatEvent(silentLogger, 'Ev3'),
    );
    expect(run.reply).toMatchObject({ kind: 'rejected' });
    expect(queued).toHaveLength(0);

    lightAnswer = '{"intent":"status"}';
    const second = await chat.handle(say('how are things going'));
    const id = second.kind === 'reading' ? second.id : '';
    expect(
      (await actions.pressed({ actionId: ACTIONS.dropReading, value: id, user: 'U0ALICE' }, chatEvent(silentLogger, 'Ev4'))).reply,
    ).toEqual({
      kind: 'reading-dropped',
      command: 'status',
    });
    expect(
      (await actions.pressed({ actionId: ACTIONS.runReading, value: id, user: 'U0ALICE' }, chatEvent(silentLogger, 'Ev5'))).reply.kind,
    ).toBe('reading-gone');
  });
});
