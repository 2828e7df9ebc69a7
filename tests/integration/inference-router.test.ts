// The router against Ollama doubles and the test Redis: fallback and cooldown,
// the global slot cap, fairness across jobs, cancellation.
import { once } from 'node:events';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { OllamaDouble } from '../support/ollama-double/index.js';
import { eventually } from '../support/eventually.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { OllamaProvider } from '../../src/inference/ollama-provider.js';
import { EndpointPool } from '../../src/inference/endpoint-pool.js';
import { SlotQueue, slotQueueKeys, weightOf } from '../../src/inference/slot-queue.js';
import { InferenceRouter, InferenceUnavailableError, type Usage } from '../../src/inference/router.js';

const HEAVY = 'qwen2.5-coder:7b';
const LIGHT = 'llama3.2:3b';

let redis: Redis;
let prefix: string;
let doubles: OllamaDouble[];
let queues: SlotQueue[];
let connections: Redis[];

beforeAll(() => {
  redis = new Redis(redisUrl());
});
beforeEach(() => {
  prefix = uniquePrefix();
  doubles = [];
  queues = [];
  connections = [];
});
afterEach(async () => {
  for (const q of queues) q.close();
  for (const c of connections) c.disconnect();
  await Promise.all(doubles.map((d) => d.close()));
  await deleteKeys(redis, `${prefix}*`);
});
afterAll(() => redis.quit());

async function double(options: Parameters<typeof OllamaDouble.start>[0] = {}): Promise<OllamaDouble> {
  const d = await OllamaDouble.start(options);
  doubles.push(d);
  return d;
}

function router(urls: string[], slots = 1, cooldown = { baseMs: 60_000, maxMs: 60_000 }, firstChunkTimeoutMs = 5_000) {
  const pool = new EndpointPool(
    urls.map((u) => new OllamaProvider(u)),
    cooldown,
  );
  // A connection per router, as each replica has its own.
  const connection = redis.duplicate();
  connections.push(connection);
  const queue = new SlotQueue(connection, slotQueueKeys(prefix), { slots, leaseMs: 30_000, ticketTtlMs: 10_000, pollMs: 500 });
  queues.push(queue);
  return new InferenceRouter(pool, queue, { models: { heavy: HEAVY, light: LIGHT }, firstChunkTimeoutMs });
}

async function ask(
  r: InferenceRouter,
  tenant = 'job-a',
  extra: { signal?: AbortSignal; onSettled?: (u: Usage) => void; weight?: number } = {},
): Promise<{ text: string; endpoint: string }> {
  const s = await r.stream({
    route: 'heavy',
    kind: 'chat',
    body: { messages: [{ role: 'user', content: 'hi' }] },
    tenant,
    weight: extra.weight ?? 1,
    signal: extra.signal ?? AbortSignal.timeout(20_000),
    onSettled: extra.onSettled,
  });
  let text = '';
  for await (const c of s.chunks) text += c.message?.content ?? '';
  return { text, endpoint: s.endpoint };
}

describe('fallback and cooldown', () => {
  test('a 503, a 5xx and an unreachable endpoint each send the request to the next, which cools the failed one down', async () => {
    const first = await double({ defaultReply: 'from first' });
    const second = await double({ defaultReply: 'from second' });
    const r = router(['http://127.0.0.1:1/', first.url, second.url]);

    first.reply({ status: 503, error: 'server busy, please try again.  maximum pending requests exceeded' });
    const a = await ask(r);
    expect(a).toEqual({ text: 'from second', endpoint: second.url });
    // Both failed endpoints now cool down: the next request goes straight to the second.
    expect(r.pool.endpoints.map((e) => e.coolUntil > Date.now())).toEqual([true, true, false]);
    const b = await ask(r);
    expect(b.endpoint).toBe(second.url);
    expect(first.generations()).toHaveLength(1);
  });

  test('a cooled-down endpoint is used again once its cooldown is over', async () => {
    const first = await double({ defaultReply: 'first' });
    const second = await double({ defaultReply: 'second' });
    const r = router([first.url, second.url], 1, { baseMs: 200, maxMs: 200 });
    first.reply({ status: 500, error: 'boom' });
    expect((await ask(r)).text).toBe('second');
    expect((await ask(r)).text).toBe('second');
    await new Promise((res) => setTimeout(res, 250));
    expect((await ask(r)).text).toBe('first');
  });

  test('a missing model (404) falls through without a cooldown; a slow first token counts as a failure', async () => {
    const noModel = await double({ models: [LIGHT] });
    const slow = await double({ firstTokenDelayMs: 2_000, defaultReply: 'slow' });
    const good = await double({ defaultReply: 'good' });
    const r = router([noModel.url, slow.url, good.url], 1, { baseMs: 60_000, maxMs: 60_000 }, 300);
    expect(await ask(r)).toEqual({ text: 'good', endpoint: good.url });
    expect(noModel.stats.notFound404).toBe(1);
    const [a, b] = r.pool.endpoints;
    expect(a!.coolUntil).toBe(0);
    expect(b!.coolUntil).toBeGreaterThan(Date.now());
    expect(b!.lastFailure).toMatch(/no answer within 300 ms/);
  });

  test('when none can serve, the error names each endpoint and why', async () => {
    const d = await double({ models: [LIGHT] });
    const r = router(['http://127.0.0.1:1/', d.url]);
    await r.pool.probe(2_000);
    const err = await ask(r).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceUnavailableError);
    expect((err as Error).message).toMatch(/^no inference endpoint can serve qwen2\.5-coder:7b now: /);
    expect((err as Error).message).toContain('http://127.0.0.1:1/ is cooling down');
    expect((err as Error).message).toContain(`${d.url} does not have the model qwen2.5-coder:7b (ollama pull qwen2.5-coder:7b)`);
  });

  test('an error line in the middle of the stream reaches the caller and cools the endpoint down', async () => {
    const d = await double();
    d.reply({ content: 'one two three', error: 'model runner has unexpectedly stopped', errorAfterTokens: 1 });
    const r = router([d.url]);
    await expect(ask(r)).rejects.toThrow('model runner has unexpectedly stopped');
    expect(r.pool.endpoints[0]!.coolUntil).toBeGreaterThan(Date.now());
  });

  test('health comes from /api/version, /api/tags and /api/ps', async () => {
    const d = await double();
    const r = router([d.url]);
    await ask(r);
    await r.pool.probe(2_000);
    expect(r.pool.endpoints[0]!.health).toMatchObject({ version: d.options.version, models: [HEAVY, LIGHT], loaded: [HEAVY] });
    expect(d.requests.map((q) => q.path)).toEqual(expect.arrayContaining(['/api/version', '/api/tags', '/api/ps']));
  });
});

describe('slots and fairness', () => {
  test('two routers (one Redis) never run more than OLLAMA_SLOTS requests at once on an endpoint', async () => {
    const d = await double({ parallel: 8, tokensPerSecond: 200, defaultReply: 'a b c d e f g h' });
    const r1 = router([d.url], 2);
    const r2 = router([d.url], 2);
    await Promise.all(Array.from({ length: 12 }, (_, i) => ask(i % 2 ? r1 : r2, `job-${i % 4}`)));
    expect(d.load.maxInFlight).toBe(2);
    expect(d.stats.completed).toBe(12);
  });

  test('many jobs, one slot: turns go round the jobs, not first come first served', async () => {
    const d = await double({ parallel: 1, defaultReply: 'x y z' });
    const r = router([d.url], 1);
    const hold = await r.stream({
      route: 'heavy',
      kind: 'chat',
      body: { messages: [] },
      tenant: 'warmup',
      weight: 1,
      signal: AbortSignal.timeout(5000),
    });
    // A greedy job queues 6 requests first; two others queue 2 each after it.
    const order: string[] = [];
    const run = (tenant: string) => ask(r, tenant).then(() => order.push(tenant));
    const greedy = Array.from({ length: 6 }, () => run('greedy'));
    await eventually(async () => (await queues[0]!.waiting()) === 6, 'the greedy job in line');
    const others = [run('b'), run('c'), run('b'), run('c')];
    await eventually(async () => (await queues[0]!.waiting()) === 10, 'everyone in line');
    for await (const _ of hold.chunks) void _;
    await Promise.all([...greedy, ...others]);
    expect(order).toEqual(['greedy', 'b', 'c', 'greedy', 'b', 'c', 'greedy', 'greedy', 'greedy', 'greedy']);
  });

  test('a heavier project gets more turns, a lighter one still gets some', async () => {
    const d = await double({ parallel: 1, tokensPerSecond: 1000, defaultReply: 'x' });
    const r = router([d.url], 1);
    const order: string[] = [];
    const hold = await r.stream({
      route: 'heavy',
      kind: 'chat',
      body: { messages: [] },
      tenant: 'warmup',
      weight: 1,
      signal: AbortSignal.timeout(5000),
    });
    const runs = [...Array.from({ length: 6 }, () => 'high'), ...Array.from({ length: 6 }, () => 'low')].map((t) =>
      ask(r, t, { weight: t === 'high' ? weightOf(20) : weightOf(0) }).then(() => order.push(t)),
    );
    await eventually(async () => (await queues[0]!.waiting()) === 12, 'everyone in line');
    for await (const _ of hold.chunks) void _;
    await Promise.all(runs);
    const firstSix = order.slice(0, 6);
    expect(firstSix.filter((t) => t === 'high').length).toBeGreaterThanOrEqual(4);
    expect(firstSix).toContain('low');
  });

  test('the place in line is reported while waiting', async () => {
    const d = await double({ parallel: 1, firstTokenDelayMs: 300 });
    const r = router([d.url], 1);
    const positions: number[] = [];
    const first = ask(r, 'a');
    await eventually(async () => d.load.inFlight === 1, 'the first request running');
    const second = ask(r, 'b');
    await eventually(async () => (await queues[0]!.waiting()) === 1, 'the second in line');
    const s = await r.stream({
      route: 'heavy',
      kind: 'chat',
      body: { messages: [] },
      tenant: 'c',
      weight: 1,
      signal: AbortSignal.timeout(5000),
      onPosition: (p) => positions.push(p),
    });
    for await (const _ of s.chunks) void _;
    await Promise.all([first, second]);
    expect(positions[0]).toBe(2);
    expect(positions).toContain(1);
  });

  test("the dashboard's GPU queue shows who holds the slot and who waits, and forgets them when done", async () => {
    const d = await double({ parallel: 1, firstTokenDelayMs: 1_000 });
    const r = router([d.url], 1);
    const first = ask(r, 'job-run');
    await eventually(async () => d.load.inFlight === 1, 'the first request running');
    const second = ask(r, 'job-wait');
    await eventually(async () => (await queues[0]!.board()).length === 2, 'both on the board');
    const board = await queues[0]!.board();
    expect(board.map((e) => [e.jobId, e.state, e.model])).toEqual([
      ['job-run', 'running', HEAVY],
      ['job-wait', 'waiting', HEAVY],
    ]);
    expect(board[0]!.endpoint).toBe(d.url);
    await Promise.all([first, second]);
    expect(await queues[0]!.board()).toEqual([]);
  });
});

describe('cancellation', () => {
  test('aborting a waiting request takes it out of line; aborting a running one stops it upstream and frees the slot', async () => {
    const d = await double({ parallel: 1, tokensPerSecond: 20, defaultReply: 'w '.repeat(200) });
    const r = router([d.url], 1);
    const running = new AbortController();
    const waiting = new AbortController();
    const usages: Usage[] = [];
    const a = ask(r, 'a', { signal: running.signal, onSettled: (u) => usages.push(u) }).catch((e: unknown) => e);
    await new Promise((res) => setTimeout(res, 100));
    const b = ask(r, 'b', { signal: waiting.signal }).catch((e: unknown) => e);
    await new Promise((res) => setTimeout(res, 100));
    waiting.abort(new Error('client went away'));
    expect(await b).toEqual(new Error('client went away'));
    const aborted = once(d, 'aborted');
    running.abort(new Error('job ended'));
    await a;
    await aborted;
    expect(d.generations()).toHaveLength(1);
    expect(usages).toHaveLength(1);
    expect(usages[0]!.completionTokens).toBeGreaterThan(0);
    expect(usages[0]!.gpuSeconds).toBeGreaterThan(0);
    // The slot is free again.
    d.reply({ content: 'free' });
    expect((await ask(r, 'c')).text).toBe('free');
  });
});

describe('two dispatcher processes', () => {
  beforeAll(async () => {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: process.cwd() });
  }, 120_000);

  test('share the slots through Redis: the endpoint never runs more than OLLAMA_SLOTS at once', async () => {
    const d = await double({ parallel: 8, tokensPerSecond: 400, defaultReply: 'a b c d e f g h i j' });
    const runOne = (name: string) =>
      new Promise<{ name: string; completed: number }>((resolve, reject) => {
        const env = {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          OLLAMA_URL: d.url,
          REDIS_URL: redisUrl(),
          PREFIX: prefix,
          SLOTS: '2',
          JOBS: '4',
          REQUESTS: '3',
          NAME: name,
        };
        const child = spawn(process.execPath, ['tests/support/processes/inference-load.mjs'], {
          cwd: process.cwd(),
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (b: Buffer) => (out += b.toString()));
        child.stderr.on('data', (b: Buffer) => (out += b.toString()));
        child.once('exit', (code) =>
          code === 0
            ? resolve(JSON.parse(out) as { name: string; completed: number })
            : reject(new Error(`${name} exited ${code}: ${out}`)),
        );
      });
    const results = await Promise.all([runOne('PA'), runOne('PB')]);
    expect(results.map((r) => r.completed)).toEqual([12, 12]);
    expect(d.stats.completed).toBe(24);
    expect(d.load.maxInFlight).toBe(2);
  }, 60_000);
});
