// The catalogue's YAML shape (PROJECTS_FILE, DESIGN §3) as zod schemas, with
// the wording of every problem a field can have.
import { z } from 'zod';
import { workspacePathProblem } from '../domain/workspace-path.js';
import { ENV_NAMES } from './env.js';
import type { BuiltinAgent } from '../domain/project.js';

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;
const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const GIT_URL = /^(?:(?:https?|ssh|git|file):\/\/\S+|[\w.-]+@[\w.-]+:\S+)$/;

export const BUILTIN_DEFAULTS = { branch: 'main', timeoutMinutes: 60, cpus: 2, memory: '4g' } as const;

// ---------------------------------------------------------------- memory sizes

const UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
const DOCKER_MIN_MEMORY = 6 * 2 ** 20;

/**
 * Parses a memory size: a number of bytes, `512m`, `4g`, `1.5g`, `4Gi`,
 * `2048Mi`, `4GB`. Every suffix is binary (1024-based), as in
 * `docker run --memory`; so `4G` and `4Gi` are the same. Returns undefined
 * when the text is not a size.
 */
export function parseMemory(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(value);
  if (!m) return undefined;
  const [, num = '', unit = '', suffix = ''] = m;
  if (unit === '' && suffix.toLowerCase().startsWith('i')) return undefined;
  const bytes = Math.round(Number(num) * (UNITS[unit.toLowerCase()] ?? 1));
  return bytes > 0 ? bytes : undefined;
}

const idList = (re: RegExp, what: string, hint: string) =>
  z
    .array(z.string().regex(re, { error: `not a ${what} ID — ${hint}` }), { error: `must be a list of ${what} IDs` })
    .min(1, { error: `is empty, so nobody could use it — omit it to allow any ${what}, or list at least one ID` });

const channels = idList(CHANNEL_ID, 'channel', 'use the channel ID (C0123ABCD, from channel details), not its #name');
const users = idList(USER_ID, 'user', 'use the member ID (U0123ABCD, from the profile’s ⋯ menu → Copy member ID), not a name');
const admins = z.array(z.string().regex(USER_ID, { error: 'not a user ID — use the member ID (U0123ABCD), not a name' }), {
  error: 'must be a list of user IDs',
});
/** Names the agent contract sets itself (DESIGN §5): a project's env must not override them. */
const CONTRACT_NAMES = new Set(['JOB_ID', 'PROJECT', 'CHANNEL_ID', 'USER_ID', 'REDIS_PREFIX']);
const CONTRACT_PREFIXES = ['SWITCHBOARD_'];
/** The dispatcher's own settings and secrets: handing them to an agent would give it the dispatcher's powers. */
const DISPATCHER_NAMES = new Set([...ENV_NAMES, 'NODE_OPTIONS', 'DOCKER_HOST']);
const DISPATCHER_PREFIXES = ['SLACK_', 'REDIS_', 'DOCKER_'];

/** Why a catalogue `env:` name may not be passed through, or undefined when it may. */
export function reservedEnvName(name: string): string | undefined {
  if (CONTRACT_NAMES.has(name) || CONTRACT_PREFIXES.some((p) => name.startsWith(p))) {
    return 'is set by Switchboard itself for every agent (JOB_ID, PROJECT, CHANNEL_ID, USER_ID, REDIS_PREFIX, SWITCHBOARD_*) — remove it, or pass the value under another name';
  }
  if (DISPATCHER_NAMES.has(name) || DISPATCHER_PREFIXES.some((p) => name.startsWith(p))) {
    return "is one of the dispatcher's own settings (SLACK_*, REDIS_*, DOCKER_*, NODE_OPTIONS and the rest of its environment), which an agent must never receive — give the agent a credential of its own under another name, like GITHUB_TOKEN";
  }
  return undefined;
}

const envNames = z.array(
  z
    .string()
    .regex(ENV_NAME, { error: 'not an environment variable name — use UPPER_SNAKE_CASE like GITHUB_TOKEN (names only, never values)' })
    .superRefine((name, ctx) => {
      const why = reservedEnvName(name);
      if (why !== undefined) ctx.addIssue({ code: 'custom', message: `${name} ${why}` });
    }),
  { error: 'must be a list of environment variable names' },
);
const memory = z
  .union([z.string(), z.number()], { error: 'must be a size like 512m, 4g or 4Gi, or a number of bytes' })
  .superRefine((v, ctx) => {
    const bytes = parseMemory(v);
    if (bytes === undefined) ctx.addIssue({ code: 'custom', message: 'must be a size like 512m, 4g or 4Gi, or a number of bytes' });
    else if (bytes < DOCKER_MIN_MEMORY)
      ctx.addIssue({ code: 'custom', message: 'is below the 6m minimum a container accepts — give at least 6m' });
  });
const resources = z.strictObject({
  cpus: z.number({ error: 'must be a number of CPUs, like 2 or 0.5' }).positive({ error: 'must be more than 0' }).optional(),
  memory: memory.optional(),
});
export const agent = z.strictObject({
  command: z
    .array(z.string().min(1, { error: 'must not be empty' }), {
      error: 'must be a list of arguments, like ["claude", "-p", "{prompt}"]',
    })
    .min(1, { error: 'must not be empty — give the CLI and its arguments, like ["claude", "-p", "{prompt}"]' })
    .optional(),
  backend: z.literal('ollama', { error: 'the only built-in backend is ollama' }).optional(),
  model: z.string().min(1, { error: 'must not be empty' }).optional(),
  // The built-in agent's commands and caps (backend: ollama only).
  allow: z
    .array(
      z
        .array(z.string().min(1, { error: 'must not be empty' }), {
          error: 'must be a command as a list of arguments, like ["npm", "test"]',
        })
        .min(1, { error: 'must not be empty — give the command and its arguments, like ["npm", "test"]' }),
      { error: 'must be a list of commands, each a list of arguments, like [["npm", "test"]]' },
    )
    .optional(),
  maxIterations: z
    .number({ error: 'must be a whole number of model turns, like 30' })
    .int({ error: 'must be a whole number' })
    .positive({ error: 'must be at least 1' })
    .optional(),
  maxTokens: z
    .number({ error: 'must be a whole number of tokens, like 500000' })
    .int({ error: 'must be a whole number' })
    .positive({ error: 'must be at least 1' })
    .optional(),
  maxMinutes: z.number({ error: 'must be a number of minutes, like 30' }).positive({ error: 'must be more than 0' }).optional(),
  // Whether the command's stdin is a pipe for answers and thread follow-ups, or closed (for CLIs that read stdin to its end first).
  stdin: z
    .enum(['open', 'closed'], {
      error: 'must be open (answers and thread follow-ups reach the command on stdin) or closed (the command reads end-of-file)',
    })
    .optional(),
});
/** A project's named alternatives to its agent (`fix #58 in billing-api with aider`). */
// Names are checked with the rest of each agent in catalogue-parse.ts, so a bad name is reported as such.
const agents = z.record(z.string(), agent, {
  error: 'must be a mapping of agent name → { command: [...] }, like aider: { command: ["aider", "--message", "{prompt}"] }',
});
const busy = z.enum(['reject', 'queue'], {
  error: 'must be reject (a request in a busy channel is refused with a link to the running job) or queue (it waits behind it)',
});
/** The built-in agent's caps when the catalogue names none. */
export const BUILTIN_AGENT_DEFAULTS = { maxIterations: 30, maxTokens: 500_000 } as const;

/**
 * The built-in agent with its caps filled in. Its time cap defaults to the
 * project's timeoutMinutes less 2 minutes (at least half of it), so that the
 * loop ends with its own reason before the dispatcher's time limit fires;
 * for the same reason a given maxMinutes must be below timeoutMinutes.
 * @returns the agent, or the problem with maxMinutes.
 */
export function builtinAgent(
  a: { backend: 'ollama'; model: string; allow?: string[][]; maxIterations?: number; maxTokens?: number; maxMinutes?: number },
  timeoutMinutes: number,
): BuiltinAgent | string {
  if (a.maxMinutes !== undefined && a.maxMinutes >= timeoutMinutes) {
    return `must be less than the project's timeoutMinutes (${timeoutMinutes}), or the job's time limit ends it before the agent can report — lower it, or raise timeoutMinutes`;
  }
  return {
    backend: a.backend,
    model: a.model,
    allow: a.allow ?? [],
    maxIterations: a.maxIterations ?? BUILTIN_AGENT_DEFAULTS.maxIterations,
    maxTokens: a.maxTokens ?? BUILTIN_AGENT_DEFAULTS.maxTokens,
    maxMinutes: a.maxMinutes ?? Math.max(timeoutMinutes - 2, timeoutMinutes / 2),
  };
}

const priority = z
  .number({ error: 'must be a whole number (larger runs earlier)' })
  .int({ error: 'must be a whole number (larger runs earlier)' });
const timeoutMinutes = z
  .number({ error: 'must be a number of minutes, like 60' })
  .int({ error: 'must be a whole number of minutes' })
  .positive({ error: 'must be at least 1' });
// Per job, for the inference router (issue 9): the job is stopped once it passes either.
const budget = z.strictObject({
  tokens: z
    .number({ error: 'must be a number of tokens, like 2000000' })
    .int({ error: 'must be a whole number of tokens' })
    .positive({ error: 'must be at least 1' })
    .optional(),
  gpuSeconds: z.number({ error: 'must be a number of seconds, like 1800' }).positive({ error: 'must be more than 0' }).optional(),
});
const branch = z.string({ error: 'must be a branch name' }).min(1, { error: 'must not be empty' });

const promptTemplate = z
  .string({ error: 'must be a text with {ref}, {issue} and {request} where the issue and the chat message go' })
  .min(1, { error: 'must not be empty — omit it for the built-in prompt' })
  .refine((t) => t.includes('{issue}') || t.includes('{ref}'), {
    error: 'names neither {issue} nor {ref}, so the agent would not know which issue to fix — add {ref} and {issue}',
  });
const commitAuthor = z.strictObject({
  name: z.string({ error: 'required — the name on the commits, like Switchboard' }).min(1),
  email: z
    .string({ error: 'required — the e-mail on the commits, like switchboard@example.com' })
    .regex(/^[^\s<>@]+@[^\s<>@]+$/, { error: 'must be an e-mail address, like switchboard@example.com' }),
});

const inheritable = {
  branch: branch.optional(),
  prompt: promptTemplate.optional(),
  commitAuthor: commitAuthor.optional(),
  agent: agent.optional(),
  agents: agents.optional(),
  busy: busy.optional(),
  channels: channels.optional(),
  users: users.optional(),
  allowDMs: z.boolean({ error: 'must be true or false (whether a direct message with the bot may start the project)' }).optional(),
  admins: admins.optional(),
  env: envNames.optional(),
  priority: priority.optional(),
  timeoutMinutes: timeoutMinutes.optional(),
  resources: resources.optional(),
  budget: budget.optional(),
};
export const defaultsSchema = z.strictObject(inheritable);

const trackerSchema = z
  .strictObject({
    type: z.enum(['github', 'gitlab', 'jira'], { error: 'must be github, gitlab or jira' }),
    repo: z.string({ error: 'required — owner/name for github, group/name for gitlab, the project key for jira' }).min(1),
    url: z
      .string({ error: 'must be the web address of a self-managed instance, like https://gitlab.internal' })
      .regex(/^https?:\/\/[^\s/@]+(\/[^\s@]*)?$/, {
        error: 'must be an http(s) address without credentials, like https://gitlab.internal — the token goes in token:',
      })
      .optional(),
    token: z
      .string({ error: 'must be the NAME of an environment variable, like GITHUB_TOKEN' })
      .regex(ENV_NAME, { error: 'must be the NAME of an environment variable, like GITHUB_TOKEN (never the token itself)' })
      .optional(),
  })
  .superRefine((t, ctx) => {
    if (t.type === 'github' && !/^[\w.-]+\/[\w.-]+$/.test(t.repo)) {
      ctx.addIssue({ code: 'custom', path: ['repo'], message: 'must be owner/name, like acme/billing-api' });
    }
    if (t.type === 'gitlab' && !/^[\w.-]+(\/[\w.-]+)+$/.test(t.repo)) {
      ctx.addIssue({ code: 'custom', path: ['repo'], message: 'must be the project path, like acme/billing-api or group/sub/name' });
    }
  });

export const projectSchema = z.strictObject({
  repo: z
    .string({ error: 'must be a git URL' })
    .regex(GIT_URL, {
      error: 'is not a git URL — use https://host/owner/name.git or git@host:owner/name.git',
    })
    .optional(),
  workspace: z
    .string({ error: 'must be an absolute path' })
    .refine((p) => !workspacePathProblem(p), { error: (i) => workspacePathProblem(String(i.input)) })
    .optional(),
  tracker: trackerSchema.optional(),
  ...inheritable,
});

export const topSchema = z.strictObject({
  defaults: z.unknown().optional(),
  projects: z.record(z.string(), z.unknown(), {
    error: (i) =>
      i.input === undefined || i.input === null
        ? 'required — define your projects under projects:, see projects.example.yml'
        : 'must be a mapping of project name → settings, not a list — see projects.example.yml',
  }),
});

export const ALLOWED_KEYS: Record<string, readonly string[]> = {
  top: Object.keys(topSchema.shape),
  defaults: Object.keys(defaultsSchema.shape),
  project: Object.keys(projectSchema.shape),
  tracker: ['type', 'repo', 'url', 'token'],
  commitAuthor: ['name', 'email'],
  agent: Object.keys(agent.shape),
  resources: Object.keys(resources.shape),
  budget: Object.keys(budget.shape),
};
