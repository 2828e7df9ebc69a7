// Environment configuration (DESIGN §3), from one schema. Each setting is one
// entry of `configSchema`: where it sits in `Config`, its env name, its check,
// its default and whether it is a secret (which decides how it is redacted,
// see redact.ts). Adding a variable is one edit here.
//
// `loadConfig` is pure: it reads only the `env` record it is given, reports
// every problem at once and never echoes a secret's value back (problems end
// up in logs and on terminals).
// Over 350 lines: one zod schema for every variable of DESIGN §3, in that order.
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseMethodBudgets } from './slack-method-budgets.js';

export { ConfigError };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * How a secret setting is shown: `token` keeps its well-known prefix
 * (`xoxb-…(redacted)`), `secret` is hidden whole, `url` has its credentials
 * masked (`redis://:***@host`). Settings without `secret` are printed as is.
 */
export type SecretKind = 'token' | 'secret' | 'url';

export interface EnvSetting {
  env: string;
  secret?: SecretKind;
}

/** The metadata of each setting in `configSchema`; read by loadConfig, ENV_NAMES and redaction. */
export const envSettings = z.registry<EnvSetting>();

/** Marks `field` as read from the variable `env`. */
function fromEnv<T extends z.ZodType>(env: string, field: T, secret?: SecretKind): T {
  envSettings.add(field, secret === undefined ? { env } : { env, secret });
  return field;
}

const BOT_TOKEN_HINT = 'copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions in your Slack app settings';
const APP_TOKEN_HINT = 'create an app-level token with the connections:write scope (Basic Information → App-Level Tokens) and set it';

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

const DEFAULT_SLACK_MODE = 'socket';

/** The whole environment, shaped as `Config`. Field order is DESIGN §3's table order (problems are reported in it). */
export const configSchema = z.object({
  slack: z.object({
    // Required in socket and http mode (checked in loadConfig); SLACK_MODE=local needs no Slack at all.
    botToken: fromEnv('SLACK_BOT_TOKEN', checked((v) => tokenProblem(v, 'xoxb-', BOT_TOKEN_HINT)).optional(), 'token'),
    appToken: fromEnv('SLACK_APP_TOKEN', checked((v) => tokenProblem(v, 'xapp-', APP_TOKEN_HINT)).optional(), 'token'),
    signingSecret: fromEnv(
      'SLACK_SIGNING_SECRET',
      checked((v) =>
        /\s/.test(v) ? 'contains whitespace — copy the Signing Secret again from Basic Information → App Credentials' : undefined,
      ).optional(),
      'secret',
    ),
    mode: fromEnv(
      'SLACK_MODE',
      oneOf(
        ['socket', 'http', 'local'],
        'socket for Socket Mode (no public URL), http for signed HTTP requests to /slack/events, local for the built-in chat page (no Slack)',
      ).default(DEFAULT_SLACK_MODE),
    ),
    apiUrl: fromEnv(
      'SLACK_API_URL',
      checked((v) => urlProblem(v, ['http', 'https'], 'https://slack.com/api/'))
        .transform(withSlash)
        .default('https://slack.com/api/'),
      'url',
    ),
  }),
  port: fromEnv('PORT', positiveInt(65535, 'set PORT to a free TCP port such as 3000').default(3000)),
  // Containment (issue 5): 127.0.0.1 keeps agents on a host-run dispatcher's bridge away from PORT.
  listenHost: fromEnv(
    'LISTEN_HOST',
    checked((v) =>
      /^[0-9a-fA-F.:]+$|^localhost$/.test(v) ? undefined : 'must be an IP address to bind, e.g. 127.0.0.1 or 0.0.0.0',
    ).default('0.0.0.0'),
  ),
  redis: z.object({
    url: fromEnv(
      'REDIS_URL',
      checked((v) => urlProblem(v, ['redis', 'rediss'], 'redis://[:password@]host:6379[/db] (rediss:// for TLS)')).default(
        'redis://localhost:6379',
      ),
      'url',
    ),
    prefix: fromEnv(
      'REDIS_PREFIX',
      checked((v) => (/\s/.test(v) ? 'must not contain whitespace — use something short like sb: or switchboard:' : undefined)).default(
        'sb:',
      ),
    ),
    // Containment (issue 5): host and port as agents reach Redis; unset: REDIS_URL's (see loadConfig).
    agentUrl: fromEnv(
      'REDIS_AGENT_URL',
      checked((v) => {
        const p = urlProblem(v, ['redis', 'rediss'], 'redis://redis:6379 (host and port as agents reach Redis)');
        if (p) return p;
        const u = new URL(v);
        return u.username || u.password
          ? 'must carry no user or password — each agent gets its own per-job user; give host and port only'
          : undefined;
      }).optional(),
      'url',
    ),
  }),
  spawner: z.object({
    type: fromEnv(
      'SPAWNER_TYPE',
      oneOf(['docker', 'kubernetes'], 'docker runs agents on the local engine, kubernetes runs them as Jobs').default('docker'),
    ),
    agentImage: fromEnv(
      'AGENT_IMAGE',
      checked((v) =>
        /\s/.test(v) ? 'must not contain whitespace — use an image reference such as switchboard-agent:latest' : undefined,
      ).default('switchboard-agent:latest'),
    ),
    dockerHost: fromEnv(
      'DOCKER_HOST',
      checked((v) =>
        v.startsWith('/') || /^(unix|tcp|http|https|ssh|npipe):\/\/\S+$/.test(v)
          ? undefined
          : 'must be a socket path or URL — use /var/run/docker.sock, unix:///var/run/docker.sock or tcp://host:2375',
      ).default('/var/run/docker.sock'),
      'url',
    ),
    // Containment (issue 5): agents' own network, never host or none; an optional runtime.
    dockerNetwork: fromEnv(
      'DOCKER_NETWORK',
      checked((v) => {
        const lower = v.toLowerCase();
        if (lower === 'host')
          return 'must not be host — agents would share the host network and reach the dispatcher and everything on it; unset it to use switchboard-agents';
        if (lower === 'none') return 'must not be none — agents could not reach Redis to report; unset it to use switchboard-agents';
        return /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(v)
          ? undefined
          : 'is not a valid network name — use a name like switchboard-agents (created if missing)';
      }).default('switchboard-agents'),
    ),
    agentRuntime: fromEnv(
      'AGENT_RUNTIME',
      checked((v) =>
        /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(v) ? undefined : 'is not a runtime name — use one from `docker info` (Runtimes), e.g. runsc',
      ).optional(),
    ),
    k8sNamespace: fromEnv(
      'K8S_NAMESPACE',
      checked((v) =>
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v) && v.length <= 63
          ? undefined
          : 'is not a valid namespace name (lowercase letters, digits and -, at most 63) — or unset it to use the in-cluster namespace',
      ).optional(),
    ),
  }),
  // Containment (issue 5): the only host directory under which a project's workspace may lie.
  workspaceRoot: fromEnv(
    'WORKSPACE_ROOT',
    checked((v) =>
      v.startsWith('/') && v !== '/' && !v.includes(':') && !v.split('/').some((seg) => seg === '..' || seg === '.')
        ? undefined
        : 'must be a plain absolute directory other than /, like /srv/checkouts — or unset it for no workspace projects',
    ).optional(),
  ),
  projectsFile: fromEnv('PROJECTS_FILE', z.string().default('./projects.yml')),
  maxConcurrentJobs: fromEnv(
    'MAX_CONCURRENT_JOBS',
    positiveInt(undefined, 'set the number of agents that may run at once across all replicas, e.g. 4').default(4),
  ),
  // Inference (issue 9): the Ollama endpoints (first preferred), their slots, the agents' endpoint on a
  // listener of its own, and the two routes' models. Without OLLAMA_URL there is no inference at all.
  inference: z.object({
    ollamaUrls: fromEnv(
      'OLLAMA_URL',
      checked((v) => {
        for (const part of v.split(',')) {
          const p = urlProblem(
            part.trim(),
            ['http', 'https'],
            'http://ollama:11434/ (several: comma-separated, first preferred; or unset it for no local inference)',
          );
          if (p) return p;
        }
        return undefined;
      })
        .transform((v) =>
          v
            .split(',')
            .map((part) => withSlash(part.trim()))
            .join(','),
        )
        .optional(),
      'url',
    ),
    slots: fromEnv(
      'OLLAMA_SLOTS',
      positiveInt(256, "requests one endpoint serves at once — set it to that Ollama's OLLAMA_NUM_PARALLEL, e.g. 2").default(1),
    ),
    port: fromEnv(
      'INFERENCE_PORT',
      positiveInt(65535, "the agents' inference listener, a free TCP port other than PORT, e.g. 3001").default(3001),
    ),
    // Containment: agents reach this listener and never PORT's; see README "Security model".
    listenHost: fromEnv(
      'INFERENCE_LISTEN_HOST',
      checked((v) =>
        /^[0-9a-fA-F.:]+$|^localhost$/.test(v)
          ? undefined
          : "must be an IP address to bind, e.g. 0.0.0.0 or the host's address on the agents' network",
      ).default('0.0.0.0'),
    ),
    agentUrl: fromEnv(
      'INFERENCE_AGENT_URL',
      checked((v) => urlProblem(v, ['http', 'https'], 'http://dispatcher:3001 (the inference listener as agents reach it)'))
        .transform((v) => v.replace(/\/+$/, ''))
        .optional(),
    ),
    lightModel: fromEnv(
      'INFERENCE_LIGHT_MODEL',
      checked((v) => (/\s/.test(v) ? 'must be an Ollama model name without spaces, e.g. llama3.2:3b' : undefined)).optional(),
    ),
    heavyModel: fromEnv(
      'INFERENCE_HEAVY_MODEL',
      checked((v) => (/\s/.test(v) ? 'must be an Ollama model name without spaces, e.g. qwen2.5-coder:32b' : undefined)).optional(),
    ),
    firstTokenTimeoutMs: fromEnv(
      'INFERENCE_FIRST_TOKEN_TIMEOUT_MS',
      positiveInt(
        undefined,
        'milliseconds an endpoint may take to start answering (model load included) before the next one is tried, e.g. 120000',
      ).default(120_000),
    ),
  }),
  // The job dashboard (/dashboard) outside local mode: a bearer token; unset, the dashboard is off.
  dashboardToken: fromEnv(
    'DASHBOARD_TOKEN',
    checked((v) =>
      v.length < 16 || /\s/.test(v) ? 'must be at least 16 characters without spaces — make one with: openssl rand -hex 24' : undefined,
    ).optional(),
    'secret',
  ),
  logLevel: fromEnv('LOG_LEVEL', oneOf(LOG_LEVELS, 'info is a good default, debug when investigating').default('info')),
  // Slack delivery (src/slack/delivery): how long one Web API call may take, how often a 5xx or network
  // error is retried, and the budgets shared by all replicas (Slack's tiers unless overridden).
  slackDelivery: z.object({
    callTimeoutMs: fromEnv(
      'SLACK_CALL_TIMEOUT_MS',
      positiveInt(undefined, 'milliseconds one Slack Web API call may take, e.g. 10000').default(10_000),
    ),
    callRetries: fromEnv(
      'SLACK_CALL_RETRIES',
      checked((v) =>
        /^\d{1,2}$/.test(v) ? undefined : 'must be a whole number from 0 to 99 — retries after a 5xx or network error, e.g. 3',
      )
        .transform(Number)
        .default(3),
    ),
    methodBudgets: fromEnv(
      'SLACK_METHOD_BUDGETS',
      z
        .string()
        .transform((v, ctx) => {
          const r = parseMethodBudgets(v);
          if ('problem' in r)
            ctx.addIssue({ code: 'custom', message: `${r.problem} — list method=calls-per-minute pairs, comma-separated` });
          return 'limits' in r ? r.limits : {};
        })
        .default({}),
    ),
    channelPostBudget: fromEnv(
      'SLACK_CHANNEL_POST_BUDGET',
      positiveInt(undefined, 'chat.postMessage calls per minute per channel, e.g. 60 (Slack: about one a second)').default(60),
    ),
  }),
});

/** redis.agentUrl is always set once loaded: REDIS_AGENT_URL, else REDIS_URL's scheme, host and port. */
export type Config = z.output<typeof configSchema> & { redis: { agentUrl: string } };

/** OLLAMA_URL's endpoints, first preferred; empty without inference. */
export function ollamaEndpoints(config: Pick<Config, 'inference'>): string[] {
  return config.inference.ollamaUrls ? config.inference.ollamaUrls.split(',') : [];
}

/** scheme://host:port of a Redis URL: what agents get, before their own user is added. */
function agentRedisBase(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

/** One setting of `configSchema`: where it sits in Config, and its metadata. */
export interface SettingAt extends EnvSetting {
  path: readonly string[];
}

function collectSettings(schema: z.ZodObject, path: readonly string[]): SettingAt[] {
  const out: SettingAt[] = [];
  for (const [key, field] of Object.entries(schema.shape) as [string, z.ZodType][]) {
    const meta = envSettings.get(field);
    if (meta) out.push({ ...meta, path: [...path, key] });
    else if (field instanceof z.ZodObject) out.push(...collectSettings(field, [...path, key]));
    else throw new Error(`config schema: ${[...path, key].join('.')} is neither a setting (fromEnv) nor a group`);
  }
  return out;
}

/** Every setting, in table order. */
export const SETTINGS: readonly SettingAt[] = collectSettings(configSchema, []);

/** Every variable `loadConfig` reads, in the order of DESIGN §3 (problems are reported in this order). */
export const ENV_NAMES: readonly string[] = SETTINGS.map((s) => s.env);

/**
 * Parses and validates the environment. Empty (or blank) values count as
 * unset. URLs for SLACK_API_URL and OLLAMA_URL are normalised to end with `/`,
 * so `new URL('chat.postMessage', apiUrl)` works for base URLs with a path.
 * @throws ConfigError listing every problem.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // The schema's input, shaped like Config; groups always exist, unset settings stay absent.
  const input: Record<string, unknown> = {};
  const raw: Record<string, string> = {};
  const envAt = new Map<string, string>();
  for (const s of SETTINGS) {
    envAt.set(s.path.join('.'), s.env);
    let group = input;
    for (const key of s.path.slice(0, -1)) group = (group[key] ??= {}) as Record<string, unknown>;
    const value = env[s.env];
    if (value !== undefined && value.trim() !== '') {
      group[s.path[s.path.length - 1]!] = value;
      raw[s.env] = value;
    }
  }

  const problems: { name: string; text: string }[] = [];
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ name: envAt.get(issue.path.join('.')) ?? 'environment', text: issue.message });
    }
  }

  // Cross-field rules run on the raw input so they are reported together with
  // everything else (zod skips object refinements once a field has failed).
  const mode = raw.SLACK_MODE?.toLowerCase() ?? DEFAULT_SLACK_MODE;
  if (mode !== 'local' && raw.SLACK_BOT_TOKEN === undefined) {
    problems.push({
      name: 'SLACK_BOT_TOKEN',
      text: `required — ${BOT_TOKEN_HINT}, or set SLACK_MODE=local to try Switchboard without Slack`,
    });
  }
  if (mode === 'socket' && raw.SLACK_APP_TOKEN === undefined) {
    problems.push({
      name: 'SLACK_APP_TOKEN',
      text: `required when SLACK_MODE=socket — ${APP_TOKEN_HINT}, or set SLACK_MODE=http`,
    });
  }
  if (mode === 'http' && raw.SLACK_SIGNING_SECRET === undefined) {
    problems.push({
      name: 'SLACK_SIGNING_SECRET',
      text: 'required when SLACK_MODE=http — copy the Signing Secret from Basic Information → App Credentials and set it, or set SLACK_MODE=socket',
    });
  }

  if (problems.length > 0 || !parsed.success) {
    const order = (n: string) => ENV_NAMES.indexOf(n);
    const sorted = problems.map((p, i) => ({ ...p, i })).sort((a, b) => order(a.name) - order(b.name) || a.i - b.i);
    throw new ConfigError(
      'environment',
      sorted.map((p) => `${p.name}: ${p.text}`),
    );
  }
  const config = parsed.data;
  // The local chat page has no login: unless told otherwise, only this machine may reach it.
  const listenHost = mode === 'local' && raw.LISTEN_HOST === undefined ? '127.0.0.1' : config.listenHost;
  return { ...config, listenHost, redis: { ...config.redis, agentUrl: config.redis.agentUrl ?? agentRedisBase(config.redis.url) } };
}
