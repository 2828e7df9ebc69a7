// The agent runner: one process per job inside the agent image. It prepares
// the workspace, runs the project's agent command, and reports every step as
// an event; it obeys cancel messages and keeps its heartbeat while alive.
// The command may speak the line protocol (line-protocol.ts): its events are
// published, its verdict becomes the job's final event, and answers and thread
// follow-ups reach it on stdin.
// Over 350 lines: one job's steps, in order, read best in one place; publishing is apart (publish-work.ts).
import { hostname } from 'node:os';
import { existsSync, readdirSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { MAX_EVENT_TEXT, type AgentEventBody, type ControlMessage } from '../domain/events.js';
import { capText, stripUrlCredentials } from '../domain/text.js';
import { keys as keysFor } from '../domain/keys.js';
import { EventPublisher, type PublisherOptions } from './event-publisher.js';
import { startHeartbeat } from './heartbeat.js';
import { ControlListener } from './control-listener.js';
import { runCommand, type RunningCommand } from './run-command.js';
import { LineBatcher } from './line-batcher.js';
import { parseProtocolLine, PROTOCOL_PREFIX, stdinLineFor, type Verdict } from './line-protocol.js';
import { findPrUrl, summarize } from './result.js';
import { commandFor, type RunnerOptions } from './runner-options.js';
import { redactSecrets } from '../domain/text.js';
import { AGENT_ENV } from '../domain/agent-contract.js';
import type { ChatModel } from './builtin/chat-model.js';
import { OllamaChatModel } from './builtin/ollama-chat-model.js';
import { runCodingLoop } from './builtin/coding-loop.js';
import { WorkspaceTools } from './builtin/workspace-tools.js';
import type { BuiltinAgentOptions } from './runner-options.js';
import { createTracker, TrackerError, type Tracker, type TrackerIssue } from '../trackers/index.js';
import { renderPrompt } from '../trackers/issue-prompt.js';
import { takeJobSecret } from './job-secret.js';
import { authEnv, jobBranch, startJobBranch } from './git-workspace.js';
import { gitEnvOf, publishWork, type RunnerOutcome, type Work } from './publish-work.js';

type StepName = 'read issue' | 'prepare workspace' | 'run agent' | 'publish' | 'finish';
const CANCEL_GRACE_MS = 10_000;
const KEEP_OUTPUT_LINES = 200;
const DRAIN_MS = 10 * 60_000;
/**
 * The cap on an agent's output in the job's stream: batches of at most 50 lines, 4 a second (a burst of 8),
 * so at most about 200 lines a second; past that, lines are dropped and counted (issue 11, drill 8).
 */
export const LOG_RATE = { batchesPerSecond: 4, burst: 8 };
export const LOG_BATCH_LINES = 50;
/**
 * The latest progress is published again after this many log events, so it is always among the stream's
 * newest STREAM_MAXLEN entries, however long an agent floods after it (a replica that takes the job over reads it).
 */
export const REPEAT_PROGRESS_EVERY = 200;
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
  /**
   * Ends whatever the agent command left running before the runner pushes
   * with the token (in the agent container: every other process of its user).
   */
  killStrays?: () => number;
  /** The cap on the agent's output (default LOG_RATE, LOG_BATCH_LINES, REPEAT_PROGRESS_EVERY); tests loosen it. */
  logCap?: { rate: { batchesPerSecond: number; burst: number }; batchLines: number; repeatProgressEvery: number };
  /** Buffering of events through a Redis outage (tests shorten the waits). */
  publisher?: PublisherOptions;
  /** How long the runner waits at its end for buffered events to reach Redis (default 10 minutes). */
  drainMs?: number;
}

export type { RunnerOutcome } from './publish-work.js';

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
  /** The job's steps: reading the issue and publishing only with a tracker. */
  private readonly steps: StepName[];
  /** Secret values known only at run time (the tracker token): blanked out like the project's. */
  private readonly runtimeSecrets: string[] = [];
  /** The latest progress, and how many log events were published since it. */
  private lastProgress?: AgentEventBody;
  private logsSinceProgress = 0;

  constructor(
    private readonly options: RunnerOptions,
    private readonly deps: RunnerDeps,
  ) {
    this.events = new EventPublisher(deps.redis, keysFor(options.redisPrefix), options.jobId, {
      log: (m) => deps.log(`events: ${m}`),
      ...deps.publisher,
    });
    this.steps = [
      ...(options.tracker ? (['read issue'] as const) : []),
      'prepare workspace',
      'run agent',
      this.publishes ? 'publish' : 'finish',
    ];
  }

  /** With a tracker and a clone (not a mounted workspace), the runner commits, pushes and opens the pull/merge request. */
  private get publishes(): boolean {
    return Boolean(this.options.tracker && this.options.repo && !this.options.workspaceMounted);
  }

  private stepNo(name: StepName): number {
    return this.steps.indexOf(name) + 1;
  }

  /** Stops the job from outside (SIGTERM to the runner, or a cancel message). */
  cancel(reason: string): void {
    if (this.cancelled) return;
    this.cancelled = reason;
    this.current?.terminate(this.grace);
    this.builtinAbort.abort();
  }

  private get logCap(): NonNullable<RunnerDeps['logCap']> {
    return this.deps.logCap ?? { rate: LOG_RATE, batchLines: LOG_BATCH_LINES, repeatProgressEvery: REPEAT_PROGRESS_EVERY };
  }

  private get grace(): number {
    return this.deps.cancelGraceMs ?? CANCEL_GRACE_MS;
  }

  async run(): Promise<RunnerOutcome> {
    const k = keysFor(this.options.redisPrefix);
    const stopHeartbeat = startHeartbeat(this.deps.redis, k.jobHeartbeat(this.options.jobId), (e) =>
      this.deps.log(`heartbeat: ${e.message}`),
    );
    const control = new ControlListener(this.deps.controlRedis, k.jobControl(this.options.jobId), (m) => this.onControl(m));
    const controlLoop = control.run();
    try {
      return await this.runSteps();
    } finally {
      // The result may be waiting out a Redis outage in the buffer: the heartbeat goes on until it is written.
      if (!(await this.events.drain(this.deps.drainMs ?? DRAIN_MS)))
        this.deps.log(`events: Redis stayed away; ${this.events.buffered} events (the result among them) could not be written`);
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
    if (this.options.agentStdin === 'closed')
      return this.deps.log(
        `${msg.type} from ${msg.by} dropped: the agent command takes no input (its stdin is closed in the project catalogue)`,
      );
    if (this.agentEnded) return this.deps.log(`${msg.type} from ${msg.by} dropped: the agent command has ended`);
    if (!this.agent) {
      this.pendingInput.push(line);
      return;
    }
    if (!this.agent.write(line)) this.deps.log(`${msg.type} from ${msg.by} dropped: the agent command's stdin is closed`);
  }

  /** Publishes an event after `cleanEvent`: secrets and URL credentials out, texts capped. */
  private async emit(body: AgentEventBody): Promise<void> {
    const secrets = [...this.options.secretNames.map((n) => this.deps.env[n]), ...this.runtimeSecrets].filter((v): v is string =>
      Boolean(v),
    );
    const clean = cleanEvent(body, secrets);
    if (clean.type === 'progress') {
      this.lastProgress = clean;
      this.logsSinceProgress = 0;
    } else if (clean.type === 'log' && this.lastProgress && ++this.logsSinceProgress >= this.logCap.repeatProgressEvery) {
      await this.events.publish(this.lastProgress);
      this.logsSinceProgress = 0;
    }
    return this.events.publish(clean);
  }

  /** A batch of the agent's output as a log event; lines dropped before it are counted in it, and said. */
  private logEvent(lines: string[], dropped: number): AgentEventBody {
    if (!dropped) return { type: 'log', text: lines.join('\n'), level: 'info' };
    const { rate, batchLines } = this.logCap;
    const said = `(switchboard: ${dropped.toLocaleString('en-US')} log lines dropped: the agent wrote more than ${rate.batchesPerSecond * batchLines} lines a second)`;
    return { type: 'log', text: [...lines, said].join('\n'), level: 'warn', dropped };
  }

  private async progress(name: StepName, text?: string): Promise<void> {
    await this.emit({ type: 'progress', step: this.stepNo(name), total: this.steps.length, name, text });
  }

  private async fail(name: StepName, reason: string, retryable: boolean): Promise<RunnerOutcome> {
    await this.emit({ type: 'failed', reason, step: this.stepNo(name), name, retryable });
    return 'failed';
  }

  private get ref(): string {
    const o = this.options;
    if (o.issue === undefined) return o.request;
    return o.tracker ? `${o.tracker.repo}#${o.issue}` : `#${o.issue}`;
  }

  private async runSteps(): Promise<RunnerOutcome> {
    const o = this.options;
    await this.emit({
      type: 'started',
      project: o.project,
      ref: o.issue === undefined ? o.request : `#${o.issue}`,
      image: o.image,
      host: hostname(),
    });
    // Before anything else runs in this container: the token leaves Redis for the runner's memory only.
    const secret = await takeJobSecret(this.deps.redis, keysFor(o.redisPrefix).jobSecret(o.jobId), this.deps.log);
    const token = secret.trackerToken;
    if (token) this.runtimeSecrets.push(token, Buffer.from(token).toString('base64'));

    let tracker: Tracker | undefined;
    let issue: TrackerIssue | undefined;
    let prompt = o.prompt;
    if (o.tracker) {
      await this.progress('read issue', `${this.ref} on ${o.tracker.type}`);
      tracker = createTracker(o.tracker, token, (m) => this.deps.log(`tracker: ${m}`));
      if (o.issue !== undefined) {
        try {
          issue = await tracker.readIssue(o.issue);
        } catch (err) {
          const e =
            err instanceof TrackerError ? err : new TrackerError('unreachable', `${this.ref}: ${(err as Error).message}`, { cause: err });
          return this.fail('read issue', `could not read ${e.message}`, e.retryable);
        }
        await this.progress('read issue', `${this.ref}: ${issue.title}`);
      }
      prompt = renderPrompt(o.promptTemplate, { ref: this.ref, project: o.project, issue, request: o.request });
    }
    if (this.cancelled) return this.fail(this.steps[0] ?? 'prepare workspace', this.cancelled, true);

    await this.progress('prepare workspace', o.workspaceMounted ? 'using the mounted workspace' : `cloning ${o.repo} (${o.branch})`);
    const git = o.tracker && o.repo ? authEnv(o.repo, o.tracker, token) : {};
    const prepared = await this.prepareWorkspace(git);
    if (this.cancelled) return this.fail('prepare workspace', this.cancelled, true);
    if (!prepared.ok) return this.fail('prepare workspace', prepared.reason, true);
    const branch = jobBranch(o.issue, o.jobId);
    let base = '';
    if (this.publishes) {
      const started = await startJobBranch(o.workspaceDir, branch, this.gitEnv());
      if (!started.ok) return this.fail('prepare workspace', started.reason, true);
      base = started.base;
    }

    if (o.builtin) return this.runBuiltin(o.builtin, { prompt, tracker, token, issue, branch, base });
    const argv = commandFor({ ...o, prompt });
    await this.progress('run agent', argv[0]);
    const output: string[] = [];
    // Output and the command's events reach the stream in the order it printed them.
    let published: Promise<void> = Promise.resolve();
    const publishInOrder = (body: AgentEventBody) => {
      published = published.then(() => this.emit(body)).catch((e: Error) => this.deps.log(`${body.type} event: ${e.message}`));
    };
    const batcher = new LineBatcher(
      (lines, dropped) => publishInOrder(this.logEvent(lines, dropped)),
      undefined,
      this.logCap.batchLines,
      MAX_EVENT_TEXT,
      this.logCap.rate,
    );
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

    const agentStep = this.stepNo('run agent');
    if (this.cancelled) return this.fail('run agent', this.cancelled, true);
    if (result.spawnError) return this.fail('run agent', `the agent command could not start: ${result.spawnError}`, false);
    if (verdict?.type === 'failed') {
      return this.emitFinal({
        ...verdict,
        step: verdict.step ?? agentStep,
        name: verdict.name ?? (verdict.step === undefined ? 'run agent' : undefined),
      });
    }
    if (result.exitCode !== 0) {
      const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
      const last = output.filter((l) => l.trim()).at(-1);
      const after = verdict ? ' after reporting done' : '';
      return this.fail('run agent', `${argv[0]} ${how}${after}${last ? `: ${last.slice(0, 300)}` : ''}`, true);
    }

    const summary = verdict?.summary || summarize(output, `${argv[0]} finished without output`);
    if (this.publishes && tracker) {
      return this.publish({
        tracker,
        token,
        issue,
        branch,
        base,
        summary,
        agentPr: verdict?.prUrl ?? findPrUrl(output),
        agentBranch: verdict?.branch,
        agentCommit: verdict?.commit,
      });
    }
    await this.progress('finish');
    // The command's own verdict knows best; what its output shows fills the gaps.
    await this.emit({
      type: 'done',
      summary,
      prUrl: verdict?.prUrl ?? findPrUrl(output),
      branch: verdict?.branch ?? o.branch,
      commit: verdict?.commit,
    });
    return 'done';
  }

  /** The agent step for `agent: { backend: ollama }`: the built-in coding loop (builtin/coding-loop.ts), then publishing like a command's work. */
  private async runBuiltin(
    b: BuiltinAgentOptions,
    w: { prompt: string; tracker?: Tracker; token?: string; issue?: TrackerIssue; branch: string; base: string },
  ): Promise<RunnerOutcome> {
    const o = this.options;
    const url = this.deps.env[AGENT_ENV.inferenceUrl];
    const chat = this.deps.chatModel ?? (url ? new OllamaChatModel({ url, token: this.deps.env[AGENT_ENV.inferenceToken] }) : undefined);
    if (!chat)
      return this.fail('run agent', `the built-in agent needs the inference endpoint, but ${AGENT_ENV.inferenceUrl} is not set`, false);
    if (this.cancelled) return this.fail('run agent', this.cancelled, true);
    const batcher = new LineBatcher(
      (lines) =>
        void this.emit({ type: 'log', text: lines.join('\n'), level: 'info' }).catch((e: Error) =>
          this.deps.log(`log event: ${e.message}`),
        ),
    );
    const outcome = await runCodingLoop({
      chat,
      model: b.model,
      tools: new WorkspaceTools({ root: o.workspaceDir, allow: b.allow, env: this.deps.env }),
      limits: b.limits,
      task: w.prompt,
      signal: this.builtinAbort.signal,
      reporter: {
        iteration: async (n, max, last) => {
          batcher.flush();
          const after = last.length ? ` · after ${last.join(', ')}` : n === 1 ? ` · ${b.model}` : '';
          await this.progress('run agent', `iteration ${n} of at most ${max}${after}`);
        },
        // Not published: the inference endpoint writes a `usage` event for every request of the
        // job (src/inference/), this one's included; publishing here too would count each token twice.
        usage: async () => undefined,
        log: (line) => batcher.add(line),
      },
    });
    batcher.flush();
    switch (outcome.kind) {
      case 'cancelled':
        return this.fail('run agent', this.cancelled ?? 'cancelled', true);
      case 'failed':
        return this.fail('run agent', outcome.reason, outcome.retryable);
      case 'done': {
        const changed = outcome.filesWritten.length
          ? `\n\nFiles written: ${outcome.filesWritten.join(', ')}`
          : '\n\nNo files were written.';
        if (this.publishes && w.tracker) return this.publish({ ...w, tracker: w.tracker, summary: outcome.summary });
        await this.progress('finish');
        await this.emit({ type: 'done', summary: outcome.summary + changed, branch: o.branch });
        return 'done';
      }
    }
  }

  /** The runner's git environment: its own, without GIT_* settings (the push adds only the header). */
  private gitEnv(): NodeJS.ProcessEnv {
    return gitEnvOf(this.deps.env);
  }

  /** After the agent: its work becomes a pull request (publish-work.ts). */
  private publish(w: Work): Promise<RunnerOutcome> {
    return publishWork(this.options, w, {
      ref: this.ref,
      env: this.gitEnv(),
      progress: (text) => this.progress('publish', text),
      emit: (body) => this.emit(body),
      fail: (reason, retryable) => this.fail('publish', reason, retryable),
      cancelled: () => this.cancelled,
      killStrays: () => this.deps.killStrays?.() ?? 0,
      log: (msg) => this.deps.log(msg),
    });
  }

  private async emitFinal(body: Verdict): Promise<RunnerOutcome> {
    await this.emit(body);
    return body.type;
  }

  private async prepareWorkspace(auth: Record<string, string>): Promise<{ ok: true } | { ok: false; reason: string }> {
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
      // The token, if any, only as this git's Authorization header (git-workspace.ts): never in the URL or .git/config.
      env: { ...this.deps.env, ...auth, GIT_TERMINAL_PROMPT: '0' },
      onLine: (line) => lines.push(line),
    });
    const result = await this.current.done;
    if (result.exitCode === 0) return { ok: true };
    // git names the real cause first ("… does not appear to be a git repository") and a generic line last.
    const said = lines.filter((l) => /^(fatal|error|remote):/i.test(l));
    const why =
      result.spawnError ?? (said.length ? said.join(' ').slice(0, 300) : undefined) ?? lines.at(-1) ?? `exit code ${result.exitCode}`;
    return { ok: false, reason: `git clone of ${o.repo} (${o.branch}) failed: ${why}` };
  }
}
