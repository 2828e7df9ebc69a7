// The agents' inference endpoint (INFERENCE_PORT) as the dispatcher runs it,
// against an Ollama double and the test Redis: the official `ollama` client
// through OLLAMA_HOST's per-job path, OpenAI clients with the bearer token,
// 401 for tokens of no live job, cancellation on disconnect and at the job's
// end, usage and waiting events in the job's stream, the budget refusal.
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { Ollama } from 'ollama';
import { loadConfig } from '../../src/config/env.js';
import { parseCatalogue } from '../../src/config/catalogue-parse.js';
import { keys as keysFor } from '../../src/domain/keys.js';
import { parseAgentEvent, type AgentEvent } from '../../src/domain/events.js';
import { JobStore } from '../../src/state/job-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { inferenceEnv } from '../../src/jobs/run/agent-spec.js';
import { startInference, type Inference } from '../../src/inference/index.js';
import { OllamaDouble } from '../support/ollama-double/index.js';
import { freePort } from '../support/free-port.js';
import { eventually } from '../support/eventually.js';
import { aJob } from '../support/jobs.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

const MODEL = 'qwen2.5-coder:7b';
const CATALOGUE = parseCatalogue(
  `
projects:
  billing-api: { repo: https://github.com/acme/billing-api.git, agent: { backend: ollama, model: ${MODEL} }, budget: { tokens: 1000 } }
  other: { repo: https://github.com/acme/other.git, agent: { command: [x] } }
`,
  'test',
);

let redis: Redis;
let prefix: string;
let store: JobStore;
let double: OllamaDouble;
let inference: Inference;
let base: string;

async function liveJob(id: string, over: Parameters<typeof aJob>[0] = {}): Promise<{ token: string; env: Record<string, string> }> {
  await store.save(aJob({ id, state: 'running', ...over }));
  const token = await inference.tokens.issue(id, 600);
  return { token, env: inferenceEnv(base, token) };
}

async function events(jobId: string): Promise<AgentEvent[]> {
  const entries = await redis.xrange(keysFor(prefix).jobEvents(jobId), '-', '+');
  return entries.map(([, f]) => parseAgentEvent(f[1])).flatMap((p) => (p.ok ? [p.event] : []));
}

beforeAll(() => {
  redis = new Redis(redisUrl());
});
beforeEach(async () => {
  prefix = uniquePrefix();
  store = new JobStore(redis, keysFor(prefix));
  double = await OllamaDouble.start();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-1-2-test',
    SLACK_APP_TOKEN: 'xapp-1-2-test',
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    OLLAMA_URL: double.url,
    OLLAMA_SLOTS: '1',
    INFERENCE_PORT: String(port),
    INFERENCE_LISTEN_HOST: '127.0.0.1',
    INFERENCE_AGENT_URL: base,
    INFERENCE_HEAVY_MODEL: MODEL,
  });
  inference = (await startInference(config, {
    redis,
    keys: keysFor(prefix),
    prefix,
    jobs: store,
    catalogue: () => CATALOGUE,
    logger: silentLogger,
  }))!;
});
afterEach(async () => {
  await inference.stop();
  await double.close();
  await deleteKeys(redis, `${prefix}*`);
});
afterAll(() => redis.quit());

describe('Ollama-native clients, through OLLAMA_HOST', () => {
  test('the official client chats (streamed and not), generates and lists models; usage goes to the job', async () => {
    const { env } = await liveJob('abcdef0000a1');
    const client = new Ollama({ host: env.OLLAMA_HOST });
    expect((await client.list()).models.map((m) => m.name)).toEqual([MODEL]);
    double.reply({ content: 'one two three' }, { content: 'four five' }, { content: 'six', path: '/api/generate' });
    let text = '';
    for await (const part of await client.chat({ model: 'anything', messages: [{ role: 'user', content: 'hi there' }], stream: true }))
      text += part.message.content;
    expect(text).toBe('one two three');
    const whole = await client.chat({ model: MODEL, messages: [{ role: 'user', content: 'again' }] });
    expect(whole).toMatchObject({ model: MODEL, done: true, message: { content: 'four five' }, eval_count: 2 });
    expect((await client.generate({ model: MODEL, prompt: 'p' })).response).toBe('six');
    // The double got the route's model, whatever the client named.
    expect(double.generations().map((r) => r.body?.model)).toEqual([MODEL, MODEL, MODEL]);
    const usage = await eventually(async () => {
      const u = (await events('abcdef0000a1')).filter((e) => e.type === 'usage');
      return u.length === 3 && u;
    }, 'three usage events');
    expect(usage[0]).toMatchObject({ type: 'usage', model: MODEL, promptTokens: 2, completionTokens: 3 });
    expect(usage.every((u) => u.type === 'usage' && (u.gpuSeconds ?? 0) > 0)).toBe(true);
  });

  test('an error line mid-stream reaches the client as Ollama sends it', async () => {
    const { env } = await liveJob('abcdef0000a2');
    double.reply({ content: 'a b c', error: 'model runner has unexpectedly stopped', errorAfterTokens: 1 });
    const client = new Ollama({ host: env.OLLAMA_HOST });
    const run = async () => {
      for await (const _ of await client.chat({ model: MODEL, messages: [], stream: true })) void _;
    };
    await expect(run()).rejects.toThrow('model runner has unexpectedly stopped');
  });
});

describe('OpenAI-compatible clients, with the bearer token', () => {
  const post = (token: string, body: unknown) =>
    fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  test('chat completions stream as SSE, tool calls included; /v1/models lists the route models', async () => {
    const { token, env } = await liveJob('abcdef0000b1');
    expect(env.OPENAI_BASE_URL).toBe(`${base}/v1`);
    const models = (await (
      await fetch(`${env.OPENAI_BASE_URL}/models`, { headers: { Authorization: `Bearer ${env.OPENAI_API_KEY}` } })
    ).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
    double.reply({
      content: 'Let me write it.',
      toolCalls: [{ function: { name: 'write_file', arguments: { path: 'a.txt', content: 'hi' } } }],
    });
    const res = await post(token, {
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'write a.txt' }],
      tools: [],
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const lines = (await res.text())
      .split('\n\n')
      .filter(Boolean)
      .map((l) => l.replace(/^data: /, ''));
    expect(lines.at(-1)).toBe('[DONE]');
    const chunks = lines.slice(0, -1).map(
      (l) =>
        JSON.parse(l) as {
          choices: {
            delta: { content?: string; tool_calls?: { function: { name: string; arguments: string } }[] };
            finish_reason: string | null;
          }[];
          usage?: unknown;
        },
    );
    expect(chunks.flatMap((c) => c.choices.map((x) => x.delta.content ?? '')).join('')).toBe('Let me write it.');
    const call = chunks.flatMap((c) => c.choices.flatMap((x) => x.delta.tool_calls ?? []))[0]!;
    expect(call.function.name).toBe('write_file');
    expect(JSON.parse(call.function.arguments)).toEqual({ path: 'a.txt', content: 'hi' });
    expect(chunks.flatMap((c) => c.choices.map((x) => x.finish_reason)).filter(Boolean)).toEqual(['tool_calls']);
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 4 });
  });

  test('a whole chat completion without stream', async () => {
    const { token } = await liveJob('abcdef0000b2');
    double.reply({ content: 'fine' });
    const res = await post(token, { model: MODEL, messages: [{ role: 'user', content: 'ok?' }] });
    expect(await res.json()).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    });
  });
});

describe('every request is tied to a live job', () => {
  test("no token, an unknown token, an ended job's token, a revoked token and a mix of two jobs' tokens get 401", async () => {
    const a = await liveJob('abcdef0000c1');
    const b = await liveJob('abcdef0000c2');
    const ended = await liveJob('abcdef0000c3', { state: 'done', finishedAt: Date.now() });
    const revoked = await liveJob('abcdef0000c4');
    await inference.tokens.revoke('abcdef0000c4');
    const tags = (url: string, headers: Record<string, string> = {}) => fetch(`${url}/api/tags`, { headers }).then((r) => r.status);
    expect(await tags(base)).toBe(401);
    expect(await tags(`${base}/job/${'0'.repeat(64)}`)).toBe(401);
    expect(await tags(base, { Authorization: `Bearer ${'f'.repeat(64)}` })).toBe(401);
    expect(await tags(ended.env.OLLAMA_HOST!)).toBe(401);
    expect(await tags(revoked.env.OLLAMA_HOST!)).toBe(401);
    expect(await tags(a.env.OLLAMA_HOST!, { Authorization: `Bearer ${b.token}` })).toBe(401);
    const openAi = await fetch(`${base}/v1/models`, { headers: { Authorization: `Bearer ${ended.token}` } });
    expect(openAi.status).toBe(401);
    expect(await openAi.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
    // The live ones do answer.
    expect(await tags(a.env.OLLAMA_HOST!)).toBe(200);
    expect(await tags(base, { Authorization: `Bearer ${b.token}` })).toBe(200);
    expect(double.generations()).toHaveLength(0);
  });

  test("a job over its project's budget is refused with the reason", async () => {
    const { env } = await liveJob('abcdef0000c5', { promptTokens: 900, completionTokens: 200 });
    const res = await fetch(`${env.OLLAMA_HOST}/api/chat`, { method: 'POST', body: JSON.stringify({ model: MODEL, messages: [] }) });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/over its budget: stopped: it used 1,100 tokens, more than the 1,000/);
  });
});

describe('cancellation', () => {
  test("the job's end cancels its requests in flight, upstream too; a client that goes away frees its slot", async () => {
    double.options.tokensPerSecond = 20;
    const { env } = await liveJob('abcdef0000d1');
    const other = await liveJob('abcdef0000d2');
    double.reply({ content: 'w '.repeat(200) });
    const client = new Ollama({ host: env.OLLAMA_HOST });
    const stream = await client.chat({ model: MODEL, messages: [], stream: true });
    // The other job waits in line behind it, and says so in its stream.
    const waiting = new Ollama({ host: other.env.OLLAMA_HOST }).chat({ model: MODEL, messages: [] });
    await eventually(
      async () => (await events('abcdef0000d2')).some((e) => e.type === 'waiting' && e.position === 1),
      "the other job's waiting event",
    );
    const aborted = once(double, 'aborted');
    await inference.tokens.revoke('abcdef0000d1');
    const consume = async () => {
      for await (const _ of stream) void _;
    };
    await expect(consume()).rejects.toThrow();
    await aborted;
    await waiting; // the slot went to the other job
    expect((await events('abcdef0000d2')).filter((e) => e.type === 'waiting').map((e) => e.type === 'waiting' && e.position)).toEqual([
      1, 0,
    ]);

    double.reply({ content: 'w '.repeat(200) });
    const gone = new AbortController();
    const res = await fetch(`${other.env.OLLAMA_HOST}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: MODEL, messages: [] }),
      signal: gone.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    const abortedAgain = once(double, 'aborted');
    gone.abort();
    await abortedAgain;
    expect(double.load.inFlight).toBe(0);
  });
});
