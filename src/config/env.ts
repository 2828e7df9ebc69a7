// Environment configuration (DESIGN §3). `loadConfig` is pure: it reads only the
// `env` record it is given, reports every problem at once and never echoes a
// secret's value back (problems end up in logs and on terminals).
import { z } from 'zod';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface Config {
  slack: { mode: 'socket' | 'http'; botToken: string; appToken?: string; signingSecret?: string; apiUrl: string };
  port: number;
  redis: { url: string; prefix: string };
  spawner: {
    type: 'docker' | 'kubernetes';
    agentImage: string;
    dockerHost: string;
    dockerNetwork?: string;
    k8sNamespace?: string;
  };
  projectsFile: string;
  maxConcurrentJobs: number;
  ollamaUrl?: string;
  logLevel: LogLevel;
}

/** Misconfiguration: every problem is one line `NAME: what is wrong — how to fix it`. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';

  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULTS = {
  SLACK_MODE: 'socket',
  SLACK_API_URL: 'https://slack.com/api/',
  PORT: 3000,
  REDIS_URL: 'redis://localhost:6379',
  REDIS_PREFIX: 'sb:',
  SPAWNER_TYPE: 'docker',
  AGENT_IMAGE: 'switchboard-agent:latest',
  DOCKER_HOST: '/var/run/docker.sock',
  PROJECTS_FILE: './projects.yml',
  MAX_CONCURRENT_JOBS: 4,
  LOG_LEVEL: 'info',
} as const;

/** Every variable `loadConfig` reads, in the order of DESIGN §3 (problems are reported in this order). */
export const ENV_NAMES = [
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_MODE',
  'SLACK_API_URL',
  'PORT',
  'REDIS_URL',
  'REDIS_PREFIX',
  'SPAWNER_TYPE',
  'AGENT_IMAGE',
  'DOCKER_HOST',
  'DOCKER_NETWORK',
  'K8S_NAMESPACE',
  'PROJECTS_FILE',
  'MAX_CONCURRENT_JOBS',
  'OLLAMA_URL',
  'LOG_LEVEL',
] as const;
type EnvName = (typeof ENV_NAMES)[number];

const BOT_TOKEN_HINT = 'copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions in your Slack app settings';
const APP_TOKEN_HINT =
  'create an app-level token with the connections:write scope (Basic Information → App-Level Tokens) and set it';

/**
 * Describes what is wrong with a token without quoting it: only well-known,
 * non-secret prefixes are named.
 */
function tokenProblem(value: string, prefix: 'xoxb-' | 'xapp-', hint: string): string | undefined {
  if (/^["']|["']$/.test(value)) return `must not be quoted — remove the surrounding quotes (env files take values literally)`;
  if (/\s/.test(value)) return `contains whitespace — remove spaces or line breaks around the token`;
  if (value.startsWith(prefix)) return value.length > prefix.length ? undefined : `is only the ${prefix} prefix — ${hint}`;
  const kinds: [string, string][] = [
    ['xoxb-', 'a bot token (xoxb-…)'],
    ['xapp-', 'an app-level token (xapp-…)'],
    ['xoxp-', 'a user token (xoxp-…)'],
    ['xoxe', 'a refresh/config token (xoxe…)'],
  ];
  const kind = kinds.find(([p]) => value.startsWith(p));
  const looksLike = kind ? `looks like ${kind[1]}` : `does not look like a Slack token`;
  return `must start with ${prefix} but ${looksLike} — ${hint}`;
}

function urlProblem(value: string, protocols: readonly string[], example: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a URL — use the form ${example}`;
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!protocols.includes(scheme)) {
    return `must use ${protocols.map((p) => `${p}://`).join(' or ')}, not ${scheme}:// — use the form ${example}`;
  }
  if (url.hostname === '') return `has no host — use the form ${example}`;
  return undefined;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** A zod string field whose single problem (if any) comes from `check`. */
function checked(check: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}

function required(hint: string) {
  return (issue: { input: unknown }) => (issue.input === undefined ? `required — ${hint}` : undefined);
}

function positiveInt(max: number | undefined, hint: string) {
  return checked((v) => {
    if (!/^\d+$/.test(v)) return `must be a whole number — ${hint}`;
    const n = Number(v);
    if (n < 1) return `must be at least 1 — ${hint}`;
    if (max !== undefined && n > max) return `must be between 1 and ${max} — ${hint}`;
    return undefined;
  }).transform(Number);
}

function oneOf<const T extends string>(values: readonly T[], hint: string) {
  return z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(values as [T, ...T[]], { error: () => `must be one of ${values.join(', ')} — ${hint}` }));
}

const schema = z.object({
  SLACK_BOT_TOKEN: z
    .string({ error: required(BOT_TOKEN_HINT) })
    .superRefine((v, ctx) => {
      const p = tokenProblem(v, 'xoxb-', BOT_TOKEN_HINT);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    }),
  SLACK_APP_TOKEN: checked((v) => tokenProblem(v, 'xapp-', APP_TOKEN_HINT)).optional(),
  SLACK_SIGNING_SECRET: checked((v) =>
    /\s/.test(v)
      ? 'contains whitespace — copy the Signing Secret again from Basic Information → App Credentials'
      : undefined,
  ).optional(),
  SLACK_MODE: oneOf(['socket', 'http'], 'socket for Socket Mode (no public URL), http for signed HTTP requests to /slack/events').default(
    DEFAULTS.SLACK_MODE,
  ),
  SLACK_API_URL: checked((v) => urlProblem(v, ['http', 'https'], 'https://slack.com/api/'))
    .transform(withSlash)
    .default(DEFAULTS.SLACK_API_URL),
  PORT: positiveInt(65535, 'set PORT to a free TCP port such as 3000').default(DEFAULTS.PORT),
  REDIS_URL: checked((v) => urlProblem(v, ['redis', 'rediss'], 'redis://[:password@]host:6379[/db] (rediss:// for TLS)')).default(
    DEFAULTS.REDIS_URL,
  ),
  REDIS_PREFIX: checked((v) =>
    /\s/.test(v) ? 'must not contain whitespace — use something short like sb: or switchboard:' : undefined,
  ).default(DEFAULTS.REDIS_PREFIX),
  SPAWNER_TYPE: oneOf(['docker', 'kubernetes'], 'docker runs agents on the local engine, kubernetes runs them as Jobs').default(
    DEFAULTS.SPAWNER_TYPE,
  ),
  AGENT_IMAGE: checked((v) =>
    /\s/.test(v) ? 'must not contain whitespace — use an image reference such as switchboard-agent:latest' : undefined,
  ).default(DEFAULTS.AGENT_IMAGE),
  DOCKER_HOST: checked((v) =>
    v.startsWith('/') || /^(unix|tcp|http|https|ssh|npipe):\/\/\S+$/.test(v)
      ? undefined
      : 'must be a socket path or URL — use /var/run/docker.sock, unix:///var/run/docker.sock or tcp://host:2375',
  ).default(DEFAULTS.DOCKER_HOST),
  DOCKER_NETWORK: checked((v) =>
    /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(v)
      ? undefined
      : 'is not a valid network name — use a name from `docker network ls`, or unset it to use the dispatcher’s own network',
  ).optional(),
  K8S_NAMESPACE: checked((v) =>
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v) && v.length <= 63
      ? undefined
      : 'is not a valid namespace name (lowercase letters, digits and -, at most 63) — or unset it to use the in-cluster namespace',
  ).optional(),
  PROJECTS_FILE: z.string().default(DEFAULTS.PROJECTS_FILE),
  MAX_CONCURRENT_JOBS: positiveInt(undefined, 'set the number of agents that may run at once across all replicas, e.g. 4').default(
    DEFAULTS.MAX_CONCURRENT_JOBS,
  ),
  OLLAMA_URL: checked((v) => urlProblem(v, ['http', 'https'], 'http://ollama:11434/ (or unset it for no local inference)'))
    .transform(withSlash)
    .optional(),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info is a good default, debug when investigating').default(DEFAULTS.LOG_LEVEL),
});

/**
 * Parses and validates the environment. Empty (or blank) values count as
 * unset. URLs for SLACK_API_URL and OLLAMA_URL are normalised to end with `/`,
 * so `new URL('chat.postMessage', apiUrl)` works for base URLs with a path.
 * @throws ConfigError listing every problem.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const input: Partial<Record<EnvName, string>> = {};
  for (const name of ENV_NAMES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') input[name] = value;
  }

  const problems: { name: string; text: string }[] = [];
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ name: String(issue.path[0] ?? 'environment'), text: issue.message });
    }
  }

  // Cross-field rules run on the raw input so they are reported together with
  // everything else (zod skips object refinements once a field has failed).
  const mode = input.SLACK_MODE?.toLowerCase() ?? DEFAULTS.SLACK_MODE;
  if (mode === 'socket' && input.SLACK_APP_TOKEN === undefined) {
    problems.push({
      name: 'SLACK_APP_TOKEN',
      text: `required when SLACK_MODE=socket — ${APP_TOKEN_HINT}, or set SLACK_MODE=http`,
    });
  }
  if (mode === 'http' && input.SLACK_SIGNING_SECRET === undefined) {
    problems.push({
      name: 'SLACK_SIGNING_SECRET',
      text: 'required when SLACK_MODE=http — copy the Signing Secret from Basic Information → App Credentials and set it, or set SLACK_MODE=socket',
    });
  }

  if (problems.length > 0 || !parsed.success) {
    const order = (n: string) => ENV_NAMES.indexOf(n as EnvName);
    const sorted = problems.map((p, i) => ({ ...p, i })).sort((a, b) => order(a.name) - order(b.name) || a.i - b.i);
    throw new ConfigError(
      'environment',
      sorted.map((p) => `${p.name}: ${p.text}`),
    );
  }

  const e = parsed.data;
  const config: Config = {
    slack: { mode: e.SLACK_MODE, botToken: e.SLACK_BOT_TOKEN, apiUrl: e.SLACK_API_URL },
    port: e.PORT,
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    spawner: { type: e.SPAWNER_TYPE, agentImage: e.AGENT_IMAGE, dockerHost: e.DOCKER_HOST },
    projectsFile: e.PROJECTS_FILE,
    maxConcurrentJobs: e.MAX_CONCURRENT_JOBS,
    logLevel: e.LOG_LEVEL,
  };
  if (e.SLACK_APP_TOKEN !== undefined) config.slack.appToken = e.SLACK_APP_TOKEN;
  if (e.SLACK_SIGNING_SECRET !== undefined) config.slack.signingSecret = e.SLACK_SIGNING_SECRET;
  if (e.DOCKER_NETWORK !== undefined) config.spawner.dockerNetwork = e.DOCKER_NETWORK;
  if (e.K8S_NAMESPACE !== undefined) config.spawner.k8sNamespace = e.K8S_NAMESPACE;
  if (e.OLLAMA_URL !== undefined) config.ollamaUrl = e.OLLAMA_URL;
  return config;
}
