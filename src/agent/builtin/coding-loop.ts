// The built-in agent (`agent: { backend: ollama, model }`): a minimal coding
// loop. Each iteration is one model turn; the tools it asks for run, their
// results go back, until it calls `finish` (or answers without a tool call:
// that answer is its summary). Capped by iterations, tokens and wall time;
// each cap ends the job as failed with its reason.
import type { ChatMessage, ChatModel } from './chat-model.js';
import { FINISH_TOOL, TOOL_SPECS, type WorkspaceTools } from './workspace-tools.js';

export interface LoopLimits {
  maxIterations: number;
  /** Prompt and completion tokens together, over all turns. */
  maxTokens: number;
  maxWallMs: number;
}

export interface LoopReporter {
  /** Once per iteration, before the model's turn. */
  iteration(n: number, max: number, lastActions: readonly string[]): Promise<void>;
  usage(turn: { promptTokens: number; completionTokens: number }): Promise<void>;
  log(line: string): void;
}

export type LoopOutcome =
  | { kind: 'done'; summary: string; filesWritten: string[] }
  | { kind: 'failed'; reason: string; retryable: boolean; cap?: 'iterations' | 'tokens' | 'time' }
  | { kind: 'cancelled' };

export interface CodingLoopOptions {
  chat: ChatModel;
  model: string;
  tools: WorkspaceTools;
  limits: LoopLimits;
  /** The job's task (the dispatcher's prompt). */
  task: string;
  reporter: LoopReporter;
  /** Aborted when the job is cancelled. */
  signal: AbortSignal;
}

export function systemPrompt(allowed: string): string {
  return [
    'You are a coding agent working in a checkout of a project, the workspace. Paths are relative to it; you cannot leave it.',
    'Use the tools: list_files, read_file, search_files to look; write_file to change a file (give its whole new content);',
    `run_command to run one of the commands the project allows (no shell): ${allowed}.`,
    'When the task is done, call finish with a short summary of what you changed and why.',
  ].join('\n');
}

const minutes = (ms: number) =>
  ms >= 60_000 ? `${Math.round((ms / 60_000) * 10) / 10} min` : ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;

export async function runCodingLoop(o: CodingLoopOptions): Promise<LoopOutcome> {
  const { limits } = o;
  // One signal for everything in flight: a cancel, or the wall-time cap.
  const outOfTime = new AbortController();
  const timer = setTimeout(() => outOfTime.abort(), limits.maxWallMs);
  const signal = AbortSignal.any([o.signal, outOfTime.signal]);
  const stopped = (): LoopOutcome | undefined => {
    if (o.signal.aborted) return { kind: 'cancelled' };
    if (outOfTime.signal.aborted) {
      return {
        kind: 'failed',
        cap: 'time',
        retryable: false,
        reason: `the built-in agent ran out of time: its cap is ${minutes(limits.maxWallMs)} (agent.maxMinutes)`,
      };
    }
    return undefined;
  };
  const messages: ChatMessage[] = [
    { role: 'system', content: systemPrompt(o.tools.allowedText()) },
    { role: 'user', content: o.task },
  ];
  const written = new Set<string>();
  let tokens = 0;
  let lastActions: string[] = [];
  try {
    for (let n = 1; ; n++) {
      if (n > limits.maxIterations) {
        return {
          kind: 'failed',
          cap: 'iterations',
          retryable: false,
          reason: `the built-in agent did not finish within its cap of ${limits.maxIterations} iterations (agent.maxIterations)`,
        };
      }
      await o.reporter.iteration(n, limits.maxIterations, lastActions);
      let turn;
      try {
        turn = await o.chat.chat({ model: o.model, messages, tools: TOOL_SPECS }, signal);
      } catch (err) {
        const stop = stopped();
        if (stop) return stop;
        return { kind: 'failed', retryable: true, reason: `the inference endpoint failed: ${(err as Error).message}` };
      }
      tokens += turn.promptTokens + turn.completionTokens;
      await o.reporter.usage(turn);
      if (tokens > limits.maxTokens) {
        return {
          kind: 'failed',
          cap: 'tokens',
          retryable: false,
          reason: `the built-in agent used ${tokens} tokens, over its cap of ${limits.maxTokens} (agent.maxTokens)`,
        };
      }
      const stop = stopped();
      if (stop) return stop;
      messages.push({ role: 'assistant', content: turn.content, ...(turn.toolCalls.length ? { toolCalls: turn.toolCalls } : {}) });
      if (turn.toolCalls.length === 0) {
        // No tool asked for: the model considers itself done, and what it said is its summary.
        return { kind: 'done', summary: turn.content.trim() || 'The model finished without a summary.', filesWritten: [...written] };
      }
      lastActions = [];
      for (const call of turn.toolCalls) {
        if (call.name === FINISH_TOOL) {
          const summary = typeof call.arguments.summary === 'string' ? call.arguments.summary.trim() : '';
          return {
            kind: 'done',
            summary: summary || turn.content.trim() || 'The model finished without a summary.',
            filesWritten: [...written],
          };
        }
        const result = await o.tools.run(call, signal);
        const after = stopped();
        if (after) return after;
        if (result.wrote) written.add(result.wrote);
        o.reporter.log(result.logLine);
        lastActions.push(result.logLine);
        messages.push({ role: 'tool', toolName: call.name, content: result.output });
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
