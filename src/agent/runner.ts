// The agent runner: one process per job inside the agent image. It prepares
// the workspace, runs the project's agent command, and reports every step as
// an event; it obeys cancel messages and keeps its heartbeat while alive.
// The command may speak the line protocol (line-protocol.ts): its events are
// published, its verdict becomes the job's final event, and answers and thread
// follow-ups reach it on stdin.
import { hostname } from 'node:os';
import { existsSync, readdirSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { MAX_EVENT_TEXT, type AgentEventBody, type ControlMessage } from '../domain/events.js';
import { capText, stripUrlCredentials } from '../domain/text.js';
import { keys as keysFor } from '../domain/keys.js';
import { EventPublisher } from './event-publisher.js';
import { startHeartbeat } from './heartbeat.js';
import { ControlListener } from './control-listener.js';
import { runCommand, type RunningCommand } from './run-command.js';
import { LineBatcher } from './line-batcher.js';
import { parseProtocolLine, PROTOCOL_PREFIX, stdinLineFor, type Verdict } from './line-protocol.js';
import { findPrUrl, summarize } from './result.js';
import { commandFor, type RunnerOptions } from './runner-options.js';
import { redactSecrets } from '../config/redact.js';
import { AGENT_ENV } from '../domain/agent-contract.js';
import type { ChatModel } from './builtin/chat-model.js';
import { OllamaChatModel } from './builtin/ollama-chat-model.js';
import { runCodingLoop } from './builtin/coding-loop.js';
import { WorkspaceTools } from './builtin/workspace-tools.js';
import type { BuiltinAgentOptions } from './runner-options.js';

const STEPS = ['prepare workspace', 'run agent', 'finish'] as const;
const CANCEL_GRACE_MS = 10_000;
const KEEP_OUTPUT_LINES = 200;
export const CUT_MARKER = ' …[cut: line too long]';
/** Fields that are enums or ids, never free text. */
const NOT_TEXT = new Set(['type', 'level', 'kind', 'questionId']);

/**
 * What the runner publishes instead of `body`: in every text field (summary,
 * reason, prUrl, branch, ref, choices, …) the project's secret values are
 * blanked out, credentials are stripped from URLs, and the text is cut to
 * MAX_EVENT_TEXT with a marker.
 */
export function cleanEvent<T extends AgentEventBody>(body: T, secrets: readonly string[]): T {
  const clean = (t: string) => capText(stripUrlCredentials(secrets.length ? redactSecrets(t, secrets) : t), MAX_EVENT_TEXT, CUT_MARKER);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (NOT_TEXT.has(key)) out[key] = value;
    else if (typeof value === 'string') out[key] = clean(value);
    else if (Array.isArray(value)) out[key] = value.map((v: unknown) => (typeof v === 'string' ? clean(v) : v));
    else out[key] = value;
  }
  return out as T;
}

export interface RunnerDeps {
  /** Connection for events and heartbeat. */
  redis: Redis;
  /** A second connection, for the blocking read of control messages. */
  controlRedis: Redis;
  /** Environment handed to the agent command (the runner's own, minus nothing). */
  env: NodeJS.ProcessEnv;
  log: (msg: string) => void;
  /** How long a cancelled command gets between SIGTERM and SIGKILL (default 10 s). */
  cancelGraceMs?: number;
  /** The built-in agent's model; default the `ollama` client on SWITCHBOARD_INFERENCE_URL. */
  chatModel?: ChatModel;
}

export type RunnerOutcome = 'done' | 'failed';

export class AgentRunner {
  private readonly events: EventPublisher;
  private current?: RunningCommand;
  private cancelled?: string;
  /** The agent command, once started: answers and follow-ups go to its stdin. */
  private agent?: RunningCommand;
  /** Follow-ups that arrived before the agent command started. */
  private pendingInput: string[] = [];
  private agentEnded = false;
  /** Stops the built-in agent's model turn or command in flight. */
  private readonly builtinAbort = new AbortController();

  constructor(
    private readonly options: RunnerOptions,
    private readonly deps: RunnerDeps,
  ) {
    this.events = new EventPublisher(deps.redis, keysFor(options.redisPrefix), options.jobId);
  }

  /** Stops the job from outside (SIGTERM to the runner, or a cancel message). */
  cancel(reason: string): void {
    if (this.cancelled) return;
    this.cancelled = reason;
    this.current?.terminate(this.grace);
    this.builtinAbort.abort();
  }

  private get grace(): number {
    return this.deps.cancelGraceMs ?? CANCEL_GRACE_MS;
  }

  async run(): Promise<RunnerOutcome> {
    const k = keysFor(this.options.redisPrefix);
    const stopHeartbeat = startHeartbeat(this.deps.redis, k.jobHeartbeat(this.options.jobId), (e) => this.deps.log(`heartbeat: ${e.message}`));
    const control = new ControlListener(this.deps.controlRedis, k.jobControl(this.options.jobId), (m) => this.onControl(m));
    const controlLoop = control.run();
    try {
      return await this.steps();
    } finally {
      control.close();
      await controlLoop;
      await stopHeartbeat();
    }
  }

  private onControl(msg: ControlMessage): void {
    // Plain words only: who cancelled is the dispatcher's to show (it marks the user up for its chat).
    if (msg.type === 'cancel') return this.cancel(msg.reason || 'cancelled');
    const line = stdinLineFor(msg);
    if (line === undefined) return;
    if (this.options.agentStdin === 'closed') return this.deps.log(`${msg.type} from ${msg.by} dropped: the agent command takes no input (its stdin is closed in the project catalogue)`);
    if (this.agentEnded) return this.deps.log(`${msg.type} from ${msg.by} dropped: the agent command has ended`);
    if (!this.agent) {
      this.pendingInput.push(line);
      return;
    }
    if (!this.agent.write(line)) this.deps.log(`${msg.type} from ${msg.by} dropped: the agent command's stdin is closed`);
  }

  /** Publishes an event after `cleanEvent`: secrets and URL credentials out, texts capped. */
  private async emit(body: AgentEventBody): Promise<void> {
    const secrets = this.options.secretNames.map((n) => this.deps.env[n]).filter((v): v is string => Boolean(v));
    return this.events.publish(cleanEvent(body, secrets));
  }

  private async progress(step: number, text?: string): Promise<void> {
    await this.emit({ type: 'progress', step, total: STEPS.length, name: STEPS[step - 1] ?? '', text });
  }

  private async fail(step: number, reason: string, retryable: boolean): Promise<RunnerOutcome> {
    await this.emit({ type: 'failed', reason, step, name: STEPS[step - 1], retryable });
    return 'failed';
  }

  private async steps(): Promise<RunnerOutcome> {
    const o = this.options;
    await this.emit({ type: 'started', project: o.project, ref: o.issue === undefined ? o.request : `#${o.issue}`, image: o.image, host: hostname() });

    await this.progress(1, o.workspaceMounted ? 'using the mounted workspace' : `cloning ${o.repo} (${o.branch})`);
    const prepared = await this.prepareWorkspace();
    if (this.cancelled) return this.fail(1, this.cancelled, true);
    if (!prepared.ok) return this.fail(1, prepared.reason, true);

    if (o.builtin) return this.runBuiltin(o.builtin);
    await this.progress(2, commandFor(o)[0]);
    const output: string[] = [];
    // Output and the command's events reach the stream in the order it printed them.
    let published: Promise<void> = Promise.resolve();
    const publishInOrder = (body: AgentEventBody) => {
      published = published.then(() => this.emit(body)).catch((e: Error) => this.deps.log(`${body.type} event: ${e.message}`));
    };
    const batcher = new LineBatcher((lines) => publishInOrder({ type: 'log', text: lines.join('\n'), level: 'info' }), undefined, undefined, MAX_EVENT_TEXT);
    const argv = commandFor(o);
    let verdict: Verdict | undefined;
    const asText = (whole: string) => {
      const line = capText(whole, MAX_EVENT_TEXT, CUT_MARKER);
      output.push(line);
      if (output.length > KEEP_OUTPUT_LINES) output.shift();
      batcher.add(line);
    };
    this.current = this.agent = runCommand(argv, {
      cwd: o.workspaceDir,
      env: this.deps.env,
      stdin: o.agentStdin !== 'closed',
      onLine: (line, stream) => {
        const said = stream === 'stdout' ? parseProtocolLine(line) : ({ kind: 'text' } as const);
        switch (said.kind) {
          case 'text':
            return asText(line);
          case 'invalid':
            this.deps.log(`warning: an invalid ${PROTOCOL_PREFIX} line was logged as text: ${said.error}`);
            asText(line);
            // Said in the job's log too, where the agent's author looks; not part of the agent's own output.
            return batcher.add(`(switchboard: the line above is not a valid event and was skipped: ${said.error})`);
          case 'event':
            batcher.flush();
            return publishInOrder(said.body);
          case 'verdict':
            if (verdict) this.deps.log(`warning: the agent command gave a second verdict (${said.body.type}); the last one counts`);
            verdict = said.body;
            return;
        }
      },
    });
    for (const line of this.pendingInput.splice(0)) this.agent.write(line);
    if (this.cancelled) this.current.terminate(this.grace);
    const result = await this.current.done;
    this.agentEnded = true;
    batcher.flush();
    await published;

    if (this.cancelled) return this.fail(2, this.cancelled, true);
    if (result.spawnError) return this.fail(2, `the agent command could not start: ${result.spawnError}`, false);
    if (verdict?.type === 'failed') {
      return this.emitFinal({ ...verdict, step: verdict.step ?? 2, name: verdict.name ?? (verdict.step === undefined ? STEPS[1] : undefined) });
    }
    if (result.exitCode !== 0) {
      const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
      const last = output.filter((l) => l.trim()).at(-1);
      const after = verdict ? ' after reporting done' : '';
      return this.fail(2, `${argv[0]} ${how}${after}${last ? `: ${last.slice(0, 300)}` : ''}`, true);
    }

    await this.progress(3);
    // The command's own verdict knows best; what its output shows fills the gaps.
    await this.emit({
      type: 'done',
      summary: verdict?.summary || summarize(output, `${argv[0]} finished without output`),
      prUrl: verdict?.prUrl ?? findPrUrl(output),
      branch: verdict?.branch ?? o.branch,
      commit: verdict?.commit,
    });
    return 'done';
  }

  /** Step 2 for `agent: { backend: ollama }`: the built-in coding loop (builtin/coding-loop.ts). */
  private async runBuiltin(b: BuiltinAgentOptions): Promise<RunnerOutcome> {
    const o = this.options;
    const url = this.deps.env[AGENT_ENV.inferenceUrl];
    const chat = this.deps.chatModel ?? (url ? new OllamaChatModel({ url, token: this.deps.env[AGENT_ENV.inferenceToken] }) : undefined);
    if (!chat) return this.fail(2, `the built-in agent needs the inference endpoint, but ${AGENT_ENV.inferenceUrl} is not set`, false);
    if (this.cancelled) return this.fail(2, this.cancelled, true);
    const batcher = new LineBatcher((lines) => void this.emit({ type: 'log', text: lines.join('\n'), level: 'info' }).catch((e: Error) => this.deps.log(`log event: ${e.message}`)));
    const outcome = await runCodingLoop({
      chat,
      model: b.model,
      tools: new WorkspaceTools({ root: o.workspaceDir, allow: b.allow, env: this.deps.env }),
      limits: b.limits,
      task: o.prompt,
      signal: this.builtinAbort.signal,
      reporter: {
        iteration: async (n, max, last) => {
          batcher.flush();
          const after = last.length ? ` · after ${last.join(', ')}` : n === 1 ? ` · ${b.model}` : '';
          await this.progress(2, `iteration ${n} of at most ${max}${after}`);
        },
        usage: (turn) => this.emit({ type: 'usage', model: b.model, promptTokens: turn.promptTokens, completionTokens: turn.completionTokens }),
        log: (line) => batcher.add(line),
      },
    });
    batcher.flush();
    switch (outcome.kind) {
      case 'cancelled':
        return this.fail(2, this.cancelled ?? 'cancelled', true);
      case 'failed':
        return this.fail(2, outcome.reason, outcome.retryable);
      case 'done': {
        await this.progress(3);
        const changed = outcome.filesWritten.length ? `\n\nFiles written: ${outcome.filesWritten.join(', ')}` : '\n\nNo files were written.';
        await this.emit({ type: 'done', summary: outcome.summary + changed, branch: o.branch });
        return 'done';
      }
    }
  }

  private async emitFinal(body: Verdict): Promise<RunnerOutcome> {
    await this.emit(body);
    return body.type;
  }

  private async prepareWorkspace(): Promise<{ ok: true } | { ok: false; reason: string }> {
    const o = this.options;
    if (o.workspaceMounted) {
      return existsSync(o.workspaceDir) ? { ok: true } : { ok: false, reason: `the workspace ${o.workspaceDir} is not mounted` };
    }
    if (existsSync(o.workspaceDir) && readdirSync(o.workspaceDir).length > 0) {
      return { ok: false, reason: `${o.workspaceDir} is not empty, so the repository cannot be cloned into it` };
    }
    const lines: string[] = [];
    this.current = runCommand(['git', 'clone', '--depth', '50', '--branch', o.branch, o.repo ?? '', o.workspaceDir], {
      cwd: '/',
      env: { ...this.deps.env, GIT_TERMINAL_PROMPT: '0' },
      onLine: (line) => lines.push(line),
    });
    const result = await this.current.done;
    if (result.exitCode === 0) return { ok: true };
    // git names the real cause first ("… does not appear to be a git repository") and a generic line last.
    const said = lines.filter((l) => /^(fatal|error|remote):/i.test(l));
    const why = result.spawnError ?? (said.length ? said.join(' ').slice(0, 300) : undefined) ?? lines.at(-1) ?? `exit code ${result.exitCode}`;
    return { ok: false, reason: `git clone of ${o.repo} (${o.branch}) failed: ${why}` };
  }
}
