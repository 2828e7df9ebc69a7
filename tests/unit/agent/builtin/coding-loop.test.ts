// The built-in agent's loop against a scripted model (the ChatModel port): it
// runs the tools the model asks for, feeds their results back, finishes with
// the model's summary, reports once per iteration, and each cap (iterations,
// tokens, wall time) ends it as failed with its reason.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatMessage, ChatModel, ChatTurn, ToolCall } from '../../../../src/agent/builtin/chat-model.js';
import { runCodingLoop, type LoopLimits, type LoopOutcome } from '../../../../src/agent/builtin/coding-loop.js';
import { WorkspaceTools } from '../../../../src/agent/builtin/workspace-tools.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sb-loop-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

type Step = Partial<ChatTurn> | ((messages: readonly ChatMessage[], signal: AbortSignal) => Promise<Partial<ChatTurn>>);

/** A model that answers from a script, one turn per call, and records what it was sent. */
class ScriptedModel implements ChatModel {
  readonly seen: ChatMessage[][] = [];
  constructor(
    private readonly script: Step[],
    private readonly then?: Step,
  ) {}
  async chat(request: { messages: readonly ChatMessage[] }, signal: AbortSignal): Promise<ChatTurn> {
    this.seen.push([...request.messages]);
    const step = this.script.shift() ?? this.then;
    if (!step) throw new Error('the script ran out');
    const turn = typeof step === 'function' ? await step(request.messages, signal) : step;
    return { content: '', toolCalls: [], promptTokens: 10, completionTokens: 5, ...turn };
  }
}

const tool = (name: string, args: Record<string, unknown>): ToolCall => ({ name, arguments: args });
const LIMITS: LoopLimits = { maxIterations: 10, maxTokens: 10_000, maxWallMs: 60_000 };

async function run(model: ChatModel, limits: Partial<LoopLimits> = {}, signal = new AbortController().signal) {
  const iterations: string[] = [];
  const usage: number[] = [];
  const logs: string[] = [];
  const outcome: LoopOutcome = await runCodingLoop({
    chat: model,
    model: 'qwen2.5-coder:7b',
    tools: new WorkspaceTools({ root, allow: [['npm', 'test']], env: {} }),
    limits: { ...LIMITS, ...limits },
    task: 'Fix issue #7 of demo.',
    signal,
    reporter: {
      iteration: async (n, max, last) => void iterations.push(`${n}/${max}${last.length ? ` ${last.join('; ')}` : ''}`),
      usage: async (t) => void usage.push(t.promptTokens + t.completionTokens),
      log: (line) => void logs.push(line),
    },
  });
  return { outcome, iterations, usage, logs };
}

test('writes the files the model asks for, feeds results back, and finishes with its summary', async () => {
  const model = new ScriptedModel([
    { content: 'Looking around.', toolCalls: [tool('list_files', {})] },
    {
      toolCalls: [
        tool('write_file', { path: 'src/fix.ts', content: 'export const fixed = true;\n' }),
        tool('write_file', { path: 'NOTES.md', content: 'n' }),
      ],
    },
    { toolCalls: [tool('finish', { summary: 'Added src/fix.ts.' })] },
  ]);
  const { outcome, iterations, usage, logs } = await run(model);

  expect(outcome).toEqual({ kind: 'done', summary: 'Added src/fix.ts.', filesWritten: ['src/fix.ts', 'NOTES.md'] });
  expect(readFileSync(join(root, 'src', 'fix.ts'), 'utf8')).toBe('export const fixed = true;\n');
  expect(readFileSync(join(root, 'NOTES.md'), 'utf8')).toBe('n');
  // One report per iteration (model turn), with what the previous one did.
  expect(iterations).toEqual(['1/10', '2/10 list_files .', '3/10 write_file src/fix.ts (27 bytes); write_file NOTES.md (1 bytes)']);
  expect(usage).toEqual([15, 15, 15]);
  expect(logs).toEqual(['list_files .', 'write_file src/fix.ts (27 bytes)', 'write_file NOTES.md (1 bytes)']);
  // The model saw the task, its own turns and each tool's result, in order.
  const last = model.seen[2] ?? [];
  expect(last.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'tool', 'tool']);
  expect(last[1]).toEqual({ role: 'user', content: 'Fix issue #7 of demo.' });
  expect(last[3]).toEqual({ role: 'tool', toolName: 'list_files', content: '(no files)' });
  expect(last[5]).toEqual({ role: 'tool', toolName: 'write_file', content: 'wrote 27 bytes to src/fix.ts' });
  expect(last[0]?.content).toContain('["npm","test"]');
});

test('a turn without tool calls ends the loop, its text being the summary', async () => {
  const { outcome } = await run(new ScriptedModel([{ content: '  Nothing to change: the bug is already fixed.  ' }]));
  expect(outcome).toEqual({ kind: 'done', summary: 'Nothing to change: the bug is already fixed.', filesWritten: [] });
});

test('a refused path or command goes back to the model, which may go on', async () => {
  const model = new ScriptedModel([
    { toolCalls: [tool('write_file', { path: '../escape.txt', content: 'x' }), tool('run_command', { argv: ['rm', '-rf', '/'] })] },
    { toolCalls: [tool('finish', { summary: 'gave up' })] },
  ]);
  const { outcome, logs } = await run(model);
  expect(outcome).toEqual({ kind: 'done', summary: 'gave up', filesWritten: [] });
  expect(existsSync(join(root, '..', 'escape.txt'))).toBe(false);
  const results = (model.seen[1] ?? []).filter((m) => m.role === 'tool').map((m) => m.content);
  expect(results[0]).toMatch(/^error: "..\/escape.txt" is refused: it climbs out of the workspace/);
  expect(results[1]).toMatch(/^error: \["rm","-rf","\/"\] is not a command this project allows/);
  expect(logs[1]).toMatch(/^run_command refused: /);
});

test('the iteration cap ends the loop as failed with its reason', async () => {
  const model = new ScriptedModel([], { toolCalls: [tool('list_files', {})] });
  const { outcome, iterations } = await run(model, { maxIterations: 3 });
  expect(outcome).toEqual({
    kind: 'failed',
    cap: 'iterations',
    retryable: false,
    reason: 'the built-in agent did not finish within its cap of 3 iterations (agent.maxIterations)',
  });
  expect(iterations).toHaveLength(3);
  expect(model.seen).toHaveLength(3);
});

test('the token cap ends the loop as failed with its reason, counting prompt and completion tokens', async () => {
  const model = new ScriptedModel([], { toolCalls: [tool('list_files', {})], promptTokens: 300, completionTokens: 100 });
  const { outcome, usage } = await run(model, { maxTokens: 1000 });
  expect(outcome).toEqual({
    kind: 'failed',
    cap: 'tokens',
    retryable: false,
    reason: 'the built-in agent used 1200 tokens, over its cap of 1000 (agent.maxTokens)',
  });
  expect(usage).toEqual([400, 400, 400]);
});

test('the wall-time cap aborts the turn in flight and ends the loop as failed with its reason', async () => {
  let aborted = false;
  const hangs: Step = (_m, signal) =>
    new Promise((_, reject) => {
      signal.addEventListener('abort', () => ((aborted = true), reject(signal.reason as Error)), { once: true });
    });
  const { outcome } = await run(new ScriptedModel([{ toolCalls: [tool('list_files', {})] }, hangs]), { maxWallMs: 30 });
  expect(outcome).toEqual({
    kind: 'failed',
    cap: 'time',
    retryable: false,
    reason: 'the built-in agent ran out of time: its cap is 30 ms (agent.maxMinutes)',
  });
  expect(aborted).toBe(true);
});

test('a cancel aborts the turn in flight', async () => {
  const cancel = new AbortController();
  const hangs: Step = (_m, signal) => {
    const stopped = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    cancel.abort();
    return stopped;
  };
  const { outcome } = await run(new ScriptedModel([hangs]), {}, cancel.signal);
  expect(outcome).toEqual({ kind: 'cancelled' });
});

test('an endpoint that fails ends the loop as failed, retryable, with what it said', async () => {
  const fails: Step = async () => {
    throw new Error('model "x" not found, try pulling it first');
  };
  const { outcome } = await run(new ScriptedModel([fails]));
  expect(outcome).toEqual({
    kind: 'failed',
    retryable: true,
    reason: 'the inference endpoint failed: model "x" not found, try pulling it first',
  });
});
