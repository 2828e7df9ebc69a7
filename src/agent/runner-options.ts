// What the runner is told: the contract's arguments (DESIGN §5) and its
// environment. Parsed once, with every problem named.
import { parseArgs } from 'node:util';
import { ErrorCode } from '../errors.js';
import { AGENT_ENV } from '../domain/agent-contract.js';
import type { LoopLimits } from './builtin/coding-loop.js';
import type { TrackerConfig } from '../trackers/tracker.js';

export interface RunnerOptions {
  jobId: string;
  redisUrl: string;
  platform: string;
  channelId: string;
  request: string;
  project: string;
  userId: string;
  redisPrefix: string;
  issue?: number;
  prompt: string;
  image: string;
  /** Git URL to clone, unless a workspace is bind-mounted. */
  repo?: string;
  branch: string;
  workspaceDir: string;
  /** True when /workspace is the project's bind-mounted checkout. */
  workspaceMounted: boolean;
  command: string[];
  /** Names of environment variables whose values must never leave the container in events. */
  secretNames: string[];
  /**
   * Whether the agent command's stdin is a pipe that carries answers and thread
   * follow-ups (the line protocol, the default), or closed for CLIs that would
   * wait for the end of a piped stdin (`agent: { stdin: closed }` in the catalogue, passed as SWITCHBOARD_AGENT_STDIN=closed).
   */
  agentStdin?: 'pipe' | 'closed';
  /** Set for `agent: { backend: ollama }`: the built-in coding loop runs instead of `command`. */
  builtin?: BuiltinAgentOptions;
  /** Where the issue is read and the pull/merge request opened; unset: the agent's output is the result. */
  tracker?: TrackerConfig;
  /** The catalogue's prompt template; unset: the built-in one. */
  promptTemplate?: string;
  commitAuthor?: { name: string; email: string };
  /** Resolved by the dispatcher (DESIGN §5): who asked, where, and the thread's permalink. */
  requester?: string;
  channelName?: string;
  threadUrl?: string;
}

export interface BuiltinAgentOptions {
  model: string;
  /** Argument vectors the agent may run (agent.allow). */
  allow: string[][];
  limits: LoopLimits;
}

/** When the dispatcher does not say (an older dispatcher, a test): the catalogue's defaults. */
export const BUILTIN_LIMIT_DEFAULTS: LoopLimits = { maxIterations: 30, maxTokens: 500_000, maxWallMs: 50 * 60_000 };

export class RunnerUsageError extends Error {
  readonly code = ErrorCode.RunnerUsage;
}

const VALUE_OPTIONS = new Set(['--job-id', '--redis-url', '--platform', '--channel-id']);
const OPTION_NAMES = new Set(['--headless', ...VALUE_OPTIONS]);

export function parseRunnerOptions(argv: string[], env: Record<string, string | undefined>): RunnerOptions {
  // The request is the last argument and may itself look like an option
  // ("-h", "--force"): take it off before parsing the rest, unless `--` marks it.
  const marked = argv.includes('--');
  const last = argv.at(-1);
  const lastIsRequest = !marked && last !== undefined && !OPTION_NAMES.has(last) && !VALUE_OPTIONS.has(argv.at(-2) ?? '');
  let values: { headless?: boolean; 'job-id'?: string; 'redis-url'?: string; platform?: string; 'channel-id'?: string };
  let parsed: string[];
  try {
    ({ values, positionals: parsed } = parseArgs({
      args: lastIsRequest ? argv.slice(0, -1) : argv,
      allowPositionals: true,
      options: {
        headless: { type: 'boolean' },
        'job-id': { type: 'string' },
        'redis-url': { type: 'string' },
        platform: { type: 'string' },
        'channel-id': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new RunnerUsageError(`switchboard agent runner: ${(err as Error).message}`, { cause: err });
  }
  const problems: string[] = [];
  const need = (v: string | undefined, what: string) => {
    if (!v) problems.push(`missing ${what}`);
    return v ?? '';
  };
  const jobId = need(values['job-id'] ?? env[AGENT_ENV.jobId], '--job-id');
  // The URL may come from the env instead (a Kubernetes Job takes it from a Secret), DESIGN §5.
  const redisUrl = need(values['redis-url'] ?? (env[AGENT_ENV.redisUrl] || undefined), `--redis-url (or ${AGENT_ENV.redisUrl})`);
  const channelId = need(values['channel-id'] ?? env[AGENT_ENV.channelId], '--channel-id');
  const positionals = lastIsRequest && last !== undefined ? [...parsed, last] : parsed;
  const request = need(positionals.join(' ').trim() || undefined, 'the request (last argument)');
  const project = need(env[AGENT_ENV.project], 'PROJECT in the environment');
  let command: string[] = [];
  const wantsBuiltin = Boolean(env[AGENT_ENV.agentBackend]);
  const builtin = wantsBuiltin ? parseBuiltin(env, problems) : undefined;
  if (!wantsBuiltin) {
    try {
      const given: unknown = JSON.parse(env[AGENT_ENV.agentCommand] ?? '');
      if (!Array.isArray(given) || given.length === 0 || !given.every((p) => typeof p === 'string')) throw new Error();
      command = given as string[];
    } catch {
      problems.push("SWITCHBOARD_AGENT_COMMAND must be a JSON array of strings (the project's agent.command)");
    }
  }
  const workspaceMounted = env[AGENT_ENV.workspaceMounted] === 'true';
  if (!workspaceMounted && !env[AGENT_ENV.repo]) problems.push('SWITCHBOARD_REPO is missing and no workspace is mounted');
  if (problems.length) throw new RunnerUsageError(`switchboard agent runner: ${problems.join('; ')}`);
  const issue = env[AGENT_ENV.issue] ? Number(env[AGENT_ENV.issue]) : undefined;
  const tracker = jsonOf<TrackerConfig>(
    env[AGENT_ENV.tracker],
    (t) => (t.type === 'github' || t.type === 'gitlab') && typeof t.repo === 'string',
  );
  const commitAuthor = jsonOf<{ name: string; email: string }>(
    env[AGENT_ENV.commitAuthor],
    (a) => typeof a.name === 'string' && typeof a.email === 'string',
  );
  return {
    jobId,
    redisUrl,
    platform: values.platform ?? 'slack',
    channelId,
    request,
    project,
    userId: env[AGENT_ENV.userId] ?? '',
    redisPrefix: env[AGENT_ENV.redisPrefix] ?? 'sb:',
    issue: Number.isFinite(issue) ? issue : undefined,
    prompt: env[AGENT_ENV.prompt] || request,
    image: env[AGENT_ENV.image] ?? 'unknown',
    repo: env[AGENT_ENV.repo] || undefined,
    branch: env[AGENT_ENV.branch] || 'main',
    workspaceDir: env[AGENT_ENV.workspaceDir] || '/workspace',
    workspaceMounted,
    command,
    secretNames: (env[AGENT_ENV.secretNames] ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
    agentStdin: env[AGENT_ENV.agentStdin] === 'closed' ? 'closed' : 'pipe',
    ...(builtin ? { builtin } : {}),
    ...(tracker ? { tracker } : {}),
    ...(env[AGENT_ENV.promptTemplate] ? { promptTemplate: env[AGENT_ENV.promptTemplate] } : {}),
    ...(commitAuthor ? { commitAuthor } : {}),
    ...(env[AGENT_ENV.requester] ? { requester: env[AGENT_ENV.requester] } : {}),
    ...(env[AGENT_ENV.channelName] ? { channelName: env[AGENT_ENV.channelName] } : {}),
    ...(env[AGENT_ENV.threadUrl] ? { threadUrl: env[AGENT_ENV.threadUrl] } : {}),
  };
}

function parseBuiltin(env: Record<string, string | undefined>, problems: string[]): BuiltinAgentOptions | undefined {
  const before = problems.length;
  if (env[AGENT_ENV.agentBackend] !== 'ollama') problems.push(`${AGENT_ENV.agentBackend} must be ollama (the only built-in backend)`);
  const model = env[AGENT_ENV.agentModel];
  if (!model) problems.push(`${AGENT_ENV.agentModel} is missing (the project's agent.model)`);
  let allow: string[][] = [];
  try {
    const given: unknown = JSON.parse(env[AGENT_ENV.agentAllow] || '[]');
    if (!Array.isArray(given) || !given.every((a) => Array.isArray(a) && a.length > 0 && a.every((p) => typeof p === 'string')))
      throw new Error();
    allow = given as string[][];
  } catch {
    problems.push(`${AGENT_ENV.agentAllow} must be a JSON list of argument lists, like [["npm","test"]] (the project's agent.allow)`);
  }
  const positive = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) problems.push(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
    return n;
  };
  const d = BUILTIN_LIMIT_DEFAULTS;
  const limits: LoopLimits = {
    maxIterations: Math.floor(positive(AGENT_ENV.agentMaxIterations, d.maxIterations)),
    maxTokens: Math.floor(positive(AGENT_ENV.agentMaxTokens, d.maxTokens)),
    maxWallMs: Math.round(positive(AGENT_ENV.agentMaxSeconds, d.maxWallMs / 1000) * 1000),
  };
  return problems.length > before || !model ? undefined : { model, allow, limits };
}

/** A JSON object from the env, when it parses and passes `ok`; anything else is ignored (the dispatcher wrote it). */
function jsonOf<T extends object>(text: string | undefined, ok: (value: Partial<T> & Record<string, unknown>) => boolean): T | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && ok(value as Partial<T> & Record<string, unknown>) ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}

/** `{prompt}` (and `{issue}`, `{project}`) substituted into each argument: no shell involved. */
export function commandFor(options: Pick<RunnerOptions, 'command' | 'prompt' | 'issue' | 'project'>): string[] {
  const values: Record<string, string> = {
    prompt: options.prompt,
    issue: options.issue === undefined ? '' : String(options.issue),
    project: options.project,
  };
  // One pass with a function: `$` in a prompt stays literal, and placeholders inside the prompt stay as written.
  return options.command.map((part) => part.replace(/\{(prompt|issue|project)\}/g, (_, name: string) => values[name] ?? ''));
}
