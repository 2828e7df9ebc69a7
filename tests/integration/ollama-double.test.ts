// The Ollama double answers the official `ollama` client the way Ollama does:
// if these pass, tests of the router and the built-in agent talk to something
// shaped like the real server.
import { once } from 'node:events';
import { Ollama, type ChatResponse } from 'ollama';
import { OllamaDouble } from '../support/ollama-double/index.js';

const MODEL = 'qwen2.5-coder:7b';

describe('Ollama double, through the official client', () => {
  let double: OllamaDouble;
  let client: Ollama;

  beforeEach(async () => {
    double = await OllamaDouble.start();
    client = new Ollama({ host: double.url });
  });
  afterEach(() => double.close());

  it('answers version, tags and ps like Ollama', async () => {
    expect((await client.version()).version).toMatch(/^\d+\.\d+\.\d+$/);
    const tags = await client.list();
    expect(tags.models.map((m) => m.name)).toEqual(['qwen2.5-coder:7b', 'llama3.2:3b']);
    expect((await client.ps()).models).toEqual([]);
    await client.chat({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    const ps = await client.ps();
    expect(ps.models.map((m) => m.name)).toEqual([MODEL]);
    expect(new Date(ps.models[0]!.expires_at).getTime()).toBeGreaterThan(Date.now());
  });

  it('streams chat as NDJSON ending in the statistics chunk', async () => {
    double.reply({ content: 'one two three' });
    const parts: ChatResponse[] = [];
    for await (const part of await client.chat({ model: MODEL, messages: [{ role: 'user', content: 'count to three' }], stream: true }))
      parts.push(part);
    expect(parts.map((p) => p.message.content).join('')).toBe('one two three');
    expect(parts.slice(0, -1).every((p) => !p.done)).toBe(true);
    const last = parts.at(-1)!;
    expect(last).toMatchObject({ done: true, done_reason: 'stop', eval_count: 3, prompt_eval_count: 3 });
    expect(last.eval_duration).toBeGreaterThan(0);
  });

  it('answers one JSON object with stream: false, for chat and generate', async () => {
    double.reply({ content: 'a b' }, { content: 'c d e', path: '/api/generate' });
    const chat = await client.chat({ model: MODEL, messages: [{ role: 'user', content: 'x' }] });
    expect(chat).toMatchObject({ done: true, message: { role: 'assistant', content: 'a b' }, eval_count: 2 });
    const gen = await client.generate({ model: MODEL, prompt: 'y' });
    expect(gen).toMatchObject({ done: true, response: 'c d e', eval_count: 3 });
    expect(gen.context).toEqual([1, 2, 3]);
  });

  it('streams generate', async () => {
    double.reply({ content: 'x y' });
    let text = '';
    for await (const part of await client.generate({ model: MODEL, prompt: 'p', stream: true })) text += part.response;
    expect(text).toBe('x y');
  });

  it('returns scripted tool calls in /api/chat, streamed and not', async () => {
    const call = { function: { name: 'write_file', arguments: { path: 'a.txt', content: 'hi\n' } } };
    double.reply({ toolCalls: [call] }, { content: 'Let me look.', toolCalls: [call] });
    const whole = await client.chat({ model: MODEL, messages: [{ role: 'user', content: 'x' }], tools: [] });
    expect(whole.message.tool_calls).toEqual([call]);
    const parts: ChatResponse[] = [];
    for await (const p of await client.chat({ model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: true })) parts.push(p);
    expect(parts.flatMap((p) => p.message.tool_calls ?? [])).toEqual([call]);
    expect(parts.at(-1)!.done).toBe(true);
    expect(double.pendingReplies).toBe(0);
  });

  it('answers 404 for a model it does not have', async () => {
    await expect(client.chat({ model: 'nope:1b', messages: [] })).rejects.toMatchObject({
      status_code: 404,
      error: expect.stringContaining('not found'),
    });
  });

  it('puts an error line in the middle of a 200 stream', async () => {
    double.reply({ content: 'one two three four', error: 'model runner has unexpectedly stopped', errorAfterTokens: 2 });
    const seen: string[] = [];
    const run = async () => {
      for await (const p of await client.chat({ model: MODEL, messages: [], stream: true })) seen.push(p.message.content);
    };
    await expect(run()).rejects.toThrow('model runner has unexpectedly stopped');
    expect(seen).toEqual(['one', ' two']);
  });

  it('answers a scripted HTTP error status', async () => {
    double.reply({ status: 500, error: 'boom' });
    await expect(client.chat({ model: MODEL, messages: [] })).rejects.toMatchObject({ status_code: 500, error: 'boom' });
  });

  it('refuses with 503 once its own queue is full', async () => {
    double.options.parallel = 1;
    double.options.maxQueue = 1;
    double.options.firstTokenDelayMs = 300;
    const req = () => client.chat({ model: MODEL, messages: [{ role: 'user', content: 'x' }] });
    const results = await Promise.allSettled([req(), req(), req()]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ status_code: 503, error: expect.stringContaining('server busy') });
    expect(double.stats.busy503).toBe(1);
    expect(double.load.maxInFlight).toBe(1);
  });

  it('runs `parallel` requests at once', async () => {
    double.options.parallel = 2;
    double.options.firstTokenDelayMs = 100;
    const req = () => client.chat({ model: MODEL, messages: [] });
    await Promise.all([req(), req(), req(), req()]);
    expect(double.load.maxInFlight).toBe(2);
  });

  it('delays the first token and keeps a fixed rate after it', async () => {
    double.options.firstTokenDelayMs = 200;
    double.options.tokensPerSecond = 50;
    double.reply({ content: 'a b c d e f' });
    const t0 = Date.now();
    const at: number[] = [];
    for await (const p of await client.chat({ model: MODEL, messages: [], stream: true })) if (!p.done) at.push(Date.now() - t0);
    expect(at[0]).toBeGreaterThanOrEqual(190);
    // 5 gaps of 20 ms after the first token
    expect(at.at(-1)! - at[0]!).toBeGreaterThanOrEqual(90);
  });

  it('stops generating when the client goes away', async () => {
    double.options.tokensPerSecond = 20;
    double.reply({ content: 'w '.repeat(100) });
    const aborted = once(double, 'aborted');
    const stream = await client.chat({ model: MODEL, messages: [], stream: true });
    for await (const p of stream) if (p.message.content) break;
    stream.abort();
    await aborted;
    expect(double.stats.aborted).toBe(1);
    expect(double.load.inFlight).toBe(0);
  });
});
