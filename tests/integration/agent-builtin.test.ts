// The runner with the built-in agent (`agent: { backend: ollama }`) against
// the real Redis: its events read back with the shared schema. The model is a
// scripted ChatModel (the loop's port) for the caps, and the Ollama double
// behind the official `ollama` client (SWITCHBOARD_INFERENCE_URL) for the
// whole path over HTTP.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { AgentRunner } from '../../src/agent/runner.js';
import type { BuiltinAgentOptions, RunnerOptions } from '../../src/agent/runner-options.js';
import type { ChatModel, ChatTurn, ToolCall } from '../../src/agent/builtin/chat-model.js';
import { parseAgentEvent, type AgentEvent } from '../../src/domain/events.js';
import { OllamaDouble } from '../support/ollama-double/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `sbtest:builtin:${randomBytes(4).toString('hex')}:`;
let redis: Redis;
let tmp: string;
const connections: Redis[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  tmp = mkdtempSync(join(tmpdir(), 'sb-builtin-'));
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await Promise.all(connections.map((c) => (c.status === 'end' ? undefined : c.quit().catch(() => undefined))));
  rmSync(tmp, { recursive: true, force: true });
});

const tool = (name: string, args: Record<string, unknown>): ToolCall => ({ name, arguments: args });

/** Answers each turn from the script, then `then` for ever. */
function scripted(script: Partial<ChatTurn>[], then?: Partial<ChatTurn>): ChatModel {
  return {
    async chat() {
      const turn = script.shift() ?? then;
      if (!turn) throw new Error('the script ran out');
      return { content: '', toolCalls: [], promptTokens: 20, completionTokens: 10, ...turn };
    },
  };
}

function start(builtin: Partial<BuiltinAgentOptions>, chatModel?: ChatModel, env: NodeJS.ProcessEnv = {}) {
  const jobId = randomBytes(6).toString('hex');
  const workspaceDir = mkdtempSync(join(tmp, 'ws-'));
  writeFileSync(join(workspaceDir, 'README.md'), '# demo\n');
  const options: RunnerOptions = {
    jobId,
    redisUrl: REDIS_URL,
    platform: 'slack',
    channelId: 'C0BUILTIN',
    request: 'fix #3 in demo',
    project: 'demo',
    userId: 'U0ALICE',
    redisPrefix: prefix,
    issue: 3,
    prompt: 'Fix issue #3 of demo',
    image: 'switchboard-agent:test',
    branch: 'main',
    workspaceDir,
    workspaceMounted: true,
    command: [],
    secretNames: [],
    builtin: { model: 'qwen2.5-coder:7b', allow: [], limits: { maxIterations: 10, maxTokens: 100_000, maxWallMs: 60_000 }, ...builtin },
  };
  const conn = new Redis(REDIS_URL);
  const control = new Redis(REDIS_URL);
  connections.push(conn, control);
  const runner = new AgentRunner(options, {
    redis: conn,
    controlRedis: control,
    env,
    log: () => undefined,
    ...(chatModel ? { chatModel } : {}),
  });
  return { runner, jobId, workspaceDir };
}

async function eventsOf(jobId: string): Promise<AgentEvent[]> {
  const entries = await redis.xrange(`${prefix}job:${jobId}:events`, '-', '+');
  return entries.map(([, fields]) => {
    const parsed = parseAgentEvent(fields[fields.indexOf('e') + 1]);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.event;
  });
}
const kinds = (events: AgentEvent[]) => events.map((e) => (e.type === 'progress' ? `progress ${e.step}` : e.type));

test('writes the file, reports one progress per iteration, and ends done with the summary and the files written', async () => {
  const { runner, jobId, workspaceDir } = start(
    {},
    scripted([
      { toolCalls: [tool('read_file', { path: 'README.md' })] },
      { toolCalls: [tool('write_file', { path: 'src/answer.txt', content: '42\n' })] },
      { toolCalls: [tool('finish', { summary: 'Wrote the answer.' })] },
    ]),
  );
  expect(await runner.run()).toBe('done');
  expect(readFileSync(join(workspaceDir, 'src', 'answer.txt'), 'utf8')).toBe('42\n');

  const events = await eventsOf(jobId);
  expect(kinds(events)).toEqual(['started', 'progress 1', 'progress 2', 'log', 'progress 2', 'log', 'progress 2', 'progress 3', 'done']);
  const iterations = events.filter((e) => e.type === 'progress' && e.step === 2).map((e) => (e.type === 'progress' ? e.text : ''));
  expect(iterations).toEqual([
    'iteration 1 of at most 10 · qwen2.5-coder:7b',
    'iteration 2 of at most 10 · after read_file README.md',
    'iteration 3 of at most 10 · after write_file src/answer.txt (3 bytes)',
  ]);
  // Usage is the inference endpoint's to report (it sees every request); the runner adds none, so nothing counts twice.
  expect(events.filter((e) => e.type === 'usage')).toEqual([]);
  expect(events.at(-1)).toMatchObject({ type: 'done', summary: 'Wrote the answer.\n\nFiles written: src/answer.txt', branch: 'main' });
});

test.each<[string, Partial<BuiltinAgentOptions>, Partial<ChatTurn>, RegExp]>([
  [
    'iterations',
    { limits: { maxIterations: 2, maxTokens: 100_000, maxWallMs: 60_000 } },
    { toolCalls: [tool('list_files', {})] },
    /did not finish within its cap of 2 iterations/,
  ],
  [
    'tokens',
    { limits: { maxIterations: 10, maxTokens: 50, maxWallMs: 60_000 } },
    { toolCalls: [tool('list_files', {})] },
    /used 60 tokens, over its cap of 50/,
  ],
])('the %s cap ends the job as failed with its reason', async (_cap, builtin, turn, reason) => {
  const { runner, jobId } = start(builtin, scripted([], turn));
  expect(await runner.run()).toBe('failed');
  const last = (await eventsOf(jobId)).at(-1);
  expect(last).toMatchObject({ type: 'failed', step: 2, name: 'run agent', retryable: false });
  expect(last?.type === 'failed' && last.reason).toMatch(reason);
});

test('the time cap ends the job as failed with its reason, also while a turn hangs', async () => {
  const hangs: ChatModel = {
    chat: (_r, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })),
  };
  const { runner, jobId } = start({ limits: { maxIterations: 10, maxTokens: 100_000, maxWallMs: 200 } }, hangs);
  expect(await runner.run()).toBe('failed');
  expect((await eventsOf(jobId)).at(-1)).toMatchObject({
    type: 'failed',
    retryable: false,
    reason: 'the built-in agent ran out of time: its cap is 200 ms (agent.maxMinutes)',
  });
});

test('a cancel message stops the turn in flight; the job fails with the reason given', async () => {
  let turnStarted!: () => void;
  const started = new Promise<void>((r) => (turnStarted = r));
  const hangs: ChatModel = {
    chat: (_r, signal) =>
      new Promise((_, reject) => {
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        turnStarted();
      }),
  };
  const { runner, jobId } = start({}, hangs);
  const outcome = runner.run();
  await started;
  await redis.xadd(`${prefix}job:${jobId}:control`, '*', 'm', JSON.stringify({ type: 'cancel', by: 'U0BOB', reason: 'wrong issue' }));
  expect(await outcome).toBe('failed');
  expect((await eventsOf(jobId)).at(-1)).toMatchObject({ type: 'failed', reason: 'wrong issue' });
});

test('without an inference endpoint the built-in agent fails at once, saying so', async () => {
  const jobId = randomBytes(6).toString('hex');
  const conn = new Redis(REDIS_URL);
  const control = new Redis(REDIS_URL);
  connections.push(conn, control);
  const workspaceDir = mkdtempSync(join(tmp, 'ws-'));
  const runner = new AgentRunner(
    {
      jobId,
      redisUrl: REDIS_URL,
      platform: 'slack',
      channelId: 'C0BUILTIN',
      request: 'fix #3',
      project: 'demo',
      userId: 'U0ALICE',
      redisPrefix: prefix,
      prompt: 'p',
      image: 'i',
      branch: 'main',
      workspaceDir,
      workspaceMounted: true,
      command: [],
      secretNames: [],
      builtin: { model: 'm', allow: [], limits: { maxIterations: 1, maxTokens: 1, maxWallMs: 1000 } },
    },
    { redis: conn, controlRedis: control, env: {}, log: () => undefined },
  );
  expect(await runner.run()).toBe('failed');
  expect((await eventsOf(jobId)).at(-1)).toMatchObject({
    type: 'failed',
    retryable: false,
    reason: 'the built-in agent needs the inference endpoint, but SWITCHBOARD_INFERENCE_URL is not set',
  });
});

describe('against the Ollama double, through the official client', () => {
  let double: OllamaDouble;
  beforeAll(async () => {
    double = await OllamaDouble.start();
  });
  afterAll(() => double.close());

  test('the tool calls it scripts write the file; every request carries the tools, the results so far and the job token', async () => {
    double.reply(
      { content: 'Let me look.', toolCalls: [{ function: { name: 'list_files', arguments: {} } }] },
      { toolCalls: [{ function: { name: 'write_file', arguments: { path: 'docs/fix.md', content: 'Fixed.\n' } } }] },
      { content: 'Wrote docs/fix.md with the fix note.' },
    );
    const env = { SWITCHBOARD_INFERENCE_URL: double.url, SWITCHBOARD_INFERENCE_TOKEN: 'job-token-1' };
    const { runner, jobId, workspaceDir } = start({}, undefined, env);
    const before = double.generations().length;

    expect(await runner.run()).toBe('done');

    expect(readFileSync(join(workspaceDir, 'docs', 'fix.md'), 'utf8')).toBe('Fixed.\n');
    const events = await eventsOf(jobId);
    expect(events.at(-1)).toMatchObject({ type: 'done', summary: 'Wrote docs/fix.md with the fix note.\n\nFiles written: docs/fix.md' });

    const sent = double.generations().slice(before);
    expect(sent).toHaveLength(3);
    for (const r of sent) {
      expect(r.path).toBe('/api/chat');
      expect(r.headers.authorization).toBe('Bearer job-token-1');
      expect(r.body).toMatchObject({ model: 'qwen2.5-coder:7b', stream: false });
      expect((r.body?.tools as { function: { name: string } }[]).map((t) => t.function.name)).toEqual([
        'list_files',
        'read_file',
        'search_files',
        'write_file',
        'run_command',
        'finish',
      ]);
    }
    const last = sent[2]?.body?.messages as { role: string; content: string; tool_name?: string; tool_calls?: unknown[] }[];
    expect(last.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'tool']);
    expect(last[3]).toMatchObject({ role: 'tool', tool_name: 'list_files', content: 'README.md' });
    expect(last[4]?.tool_calls).toEqual([{ function: { name: 'write_file', arguments: { path: 'docs/fix.md', content: 'Fixed.\n' } } }]);
    expect(last[5]).toMatchObject({ role: 'tool', tool_name: 'write_file', content: 'wrote 7 bytes to docs/fix.md' });
  });

  test('a model the endpoint does not have fails the job with what the endpoint said', async () => {
    const env = { SWITCHBOARD_INFERENCE_URL: double.url };
    const { runner, jobId } = start({ model: 'no-such-model:1b' }, undefined, env);
    expect(await runner.run()).toBe('failed');
    expect((await eventsOf(jobId)).at(-1)).toMatchObject({
      type: 'failed',
      retryable: true,
      reason: 'the inference endpoint failed: model "no-such-model:1b" not found, try pulling it first',
    });
  });

  test('the time cap aborts a request that waits for its first token', async () => {
    double.reply({ content: 'too late', firstTokenDelayMs: 60_000 });
    const aborted = new Promise((resolve) => double.once('aborted', resolve));
    const { runner, jobId } = start({ limits: { maxIterations: 5, maxTokens: 100_000, maxWallMs: 300 } }, undefined, {
      SWITCHBOARD_INFERENCE_URL: double.url,
    });
    expect(await runner.run()).toBe('failed');
    expect((await eventsOf(jobId)).at(-1)).toMatchObject({
      type: 'failed',
      reason: 'the built-in agent ran out of time: its cap is 300 ms (agent.maxMinutes)',
    });
    await aborted; // the endpoint saw the client go away
  });
});
