// The project catalogue (PROJECTS_FILE, DESIGN §3): parsing, validation with
// every problem named by its path, permission checks and live reload.
import { readFile, stat } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './env.js';

export interface Project {
  name: string;
  /** git URL the agent clones; exactly one of repo / workspace. */
  repo?: string;
  /** Absolute host path, bind-mounted as /workspace (docker only). */
  workspace?: string;
  branch: string;
  tracker?: { type: 'github' | 'gitlab' | 'jira'; repo: string };
  agent: { command: string[] } | { backend: 'ollama'; model: string };
  /** Channel IDs that may dispatch it; undefined = any channel. */
  channels?: string[];
  /** User IDs that may dispatch it; undefined = any user. */
  users?: string[];
  admins: string[];
  /** Names of environment variables passed through to the agent. */
  env: string[];
  priority: number;
  timeoutMinutes: number;
  resources: { cpus: number; memoryBytes: number };
}

export interface Catalogue {
  readonly projects: ReadonlyMap<string, Project>;
  /** Case-insensitive lookup by project name. */
  get(name: string): Project | undefined;
}

export const PROJECT_NAME = /^[a-z0-9][a-z0-9._-]*$/i;
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

// ---------------------------------------------------------------- schemas

const idList = (re: RegExp, what: string, hint: string) =>
  z
    .array(z.string().regex(re, { error: `not a ${what} ID — ${hint}` }), { error: `must be a list of ${what} IDs` })
    .min(1, { error: `is empty, so nobody could use it — omit it to allow any ${what}, or list at least one ID` });

const channels = idList(CHANNEL_ID, 'channel', 'use the channel ID (C0123ABCD, from channel details), not its #name');
const users = idList(USER_ID, 'user', 'use the member ID (U0123ABCD, from the profile’s ⋯ menu → Copy member ID), not a name');
const admins = z.array(z.string().regex(USER_ID, { error: 'not a user ID — use the member ID (U0123ABCD), not a name' }), {
  error: 'must be a list of user IDs',
});
const envNames = z.array(
  z.string().regex(ENV_NAME, { error: 'not an environment variable name — use UPPER_SNAKE_CASE like GITHUB_TOKEN (names only, never values)' }),
  { error: 'must be a list of environment variable names' },
);
const memory = z.union([z.string(), z.number()], { error: 'must be a size like 512m, 4g or 4Gi, or a number of bytes' }).superRefine((v, ctx) => {
  const bytes = parseMemory(v);
  if (bytes === undefined) ctx.addIssue({ code: 'custom', message: 'must be a size like 512m, 4g or 4Gi, or a number of bytes' });
  else if (bytes < DOCKER_MIN_MEMORY) ctx.addIssue({ code: 'custom', message: 'is below the 6m minimum a container accepts — give at least 6m' });
});
const resources = z.strictObject({
  cpus: z.number({ error: 'must be a number of CPUs, like 2 or 0.5' }).positive({ error: 'must be more than 0' }).optional(),
  memory: memory.optional(),
});
const agent = z.strictObject({
  command: z
    .array(z.string().min(1, { error: 'must not be empty' }), {
      error: 'must be a list of arguments, like ["claude", "-p", "{prompt}"]',
    })
    .min(1, { error: 'must not be empty — give the CLI and its arguments, like ["claude", "-p", "{prompt}"]' })
    .optional(),
  backend: z.literal('ollama', { error: 'the only built-in backend is ollama' }).optional(),
  model: z.string().min(1, { error: 'must not be empty' }).optional(),
});
const priority = z.number({ error: 'must be a whole number (larger runs earlier)' }).int({ error: 'must be a whole number (larger runs earlier)' });
const timeoutMinutes = z
  .number({ error: 'must be a number of minutes, like 60' })
  .int({ error: 'must be a whole number of minutes' })
  .positive({ error: 'must be at least 1' });
const branch = z.string({ error: 'must be a branch name' }).min(1, { error: 'must not be empty' });

const inheritable = {
  branch: branch.optional(),
  agent: agent.optional(),
  channels: channels.optional(),
  users: users.optional(),
  admins: admins.optional(),
  env: envNames.optional(),
  priority: priority.optional(),
  timeoutMinutes: timeoutMinutes.optional(),
  resources: resources.optional(),
};
const defaultsSchema = z.strictObject(inheritable);

const trackerSchema = z
  .strictObject({
    type: z.enum(['github', 'gitlab', 'jira'], { error: 'must be github, gitlab or jira' }),
    repo: z.string({ error: 'required — owner/name for github, group/name for gitlab, the project key for jira' }).min(1),
  })
  .superRefine((t, ctx) => {
    if (t.type === 'github' && !/^[\w.-]+\/[\w.-]+$/.test(t.repo)) {
      ctx.addIssue({ code: 'custom', path: ['repo'], message: 'must be owner/name, like acme/billing-api' });
    }
    if (t.type === 'gitlab' && !/^[\w.-]+(\/[\w.-]+)+$/.test(t.repo)) {
      ctx.addIssue({ code: 'custom', path: ['repo'], message: 'must be the project path, like acme/billing-api or group/sub/name' });
    }
  });

const projectSchema = z.strictObject({
  repo: z.string({ error: 'must be a git URL' }).regex(GIT_URL, {
    error: 'is not a git URL — use https://host/owner/name.git or git@host:owner/name.git',
  }).optional(),
  workspace: z.string({ error: 'must be an absolute path' }).regex(/^\//, {
    error: 'must be an absolute host path, like /srv/checkouts/billing-api',
  }).optional(),
  tracker: trackerSchema.optional(),
  ...inheritable,
});

const topSchema = z.strictObject({
  defaults: z.unknown().optional(),
  projects: z.record(z.string(), z.unknown(), {
    error: (i) =>
      i.input === undefined || i.input === null
        ? 'required — define your projects under projects:, see projects.example.yml'
        : 'must be a mapping of project name → settings, not a list — see projects.example.yml',
  }),
});

const ALLOWED_KEYS: Record<string, readonly string[]> = {
  top: Object.keys(topSchema.shape),
  defaults: Object.keys(defaultsSchema.shape),
  project: Object.keys(projectSchema.shape),
  tracker: ['type', 'repo'],
  agent: Object.keys(agent.shape),
  resources: Object.keys(resources.shape),
};

// ---------------------------------------------------------------- problems

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function unknownKey(key: string, allowed: readonly string[]): string {
  const best = allowed
    .map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  if (best && best.d <= Math.max(1, Math.floor(key.length / 3))) return `unknown key — did you mean ${best.k}?`;
  return `unknown key — allowed here: ${allowed.join(', ')}`;
}

function allowedAt(path: readonly PropertyKey[]): readonly string[] {
  const last = path[path.length - 1];
  if (path.length === 0) return ALLOWED_KEYS.top!;
  if (path.length === 1 && last === 'defaults') return ALLOWED_KEYS.defaults!;
  if (path.length === 2 && path[0] === 'projects') return ALLOWED_KEYS.project!;
  return ALLOWED_KEYS[String(last)] ?? [];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

/** Turns zod issues into `path: problem` lines, under `prefix`. */
function issueLines(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...path, key])}: ${unknownKey(key, allowedAt(path))}`);
      continue;
    }
    let message = issue.message;
    // Replace zod's generic wording; keep the messages written in the schemas.
    if (issue.code === 'invalid_type' && message.startsWith('Invalid input')) {
      message = issue.input === undefined ? 'required' : `expected ${issue.expected}, got ${describe(issue.input)}`;
    }
    lines.push(`${formatPath(path)}: ${message}`);
  }
  return lines;
}

// ---------------------------------------------------------------- parsing

class ProjectCatalogue implements Catalogue {
  private readonly byLowerName = new Map<string, Project>();

  constructor(readonly projects: ReadonlyMap<string, Project>) {
    for (const [name, p] of projects) this.byLowerName.set(name.toLowerCase(), p);
  }

  get(name: string): Project | undefined {
    return this.projects.get(name) ?? this.byLowerName.get(name.toLowerCase());
  }
}

type Defaults = z.infer<typeof defaultsSchema>;

function buildProject(name: string, raw: unknown, defaults: Defaults, problems: string[]): Project | undefined {
  const at = `projects.${name}`;
  const before = problems.length;
  if (!PROJECT_NAME.test(name)) {
    problems.push(`${at}: invalid project name — use letters, digits, '.', '_' and '-', starting with a letter or digit`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${at}: must be a mapping of settings (repo, agent, …), got ${describe(raw)}`);
    return undefined;
  }
  const hasRepo = 'repo' in raw && raw.repo !== null && raw.repo !== undefined;
  const hasWorkspace = 'workspace' in raw && raw.workspace !== null && raw.workspace !== undefined;
  if (hasRepo && hasWorkspace) problems.push(`${at}: give either repo or workspace, not both`);
  if (!hasRepo && !hasWorkspace) {
    problems.push(`${at}: give repo (a git URL the agent clones) or workspace (an absolute host path, docker only)`);
  }

  const parsed = projectSchema.safeParse(raw);
  if (!parsed.success) problems.push(...issueLines(parsed.error.issues, ['projects', name]));

  const agentRaw = 'agent' in raw ? raw.agent : defaults.agent;
  const agentAt = 'agent' in raw ? `${at}.agent` : 'defaults.agent';
  let agentValue: Project['agent'] | undefined;
  const a = parsed.success ? (parsed.data.agent ?? defaults.agent) : agent.safeParse(agentRaw).data;
  if (agentRaw === undefined) {
    problems.push(
      `${at}.agent: required — give agent.command (like ["claude", "-p", "{prompt}"]) or agent.backend: ollama with agent.model, here or under defaults`,
    );
  } else if (a) {
    if (a.command && (a.backend || a.model)) {
      problems.push(`${agentAt}: give either command or backend + model, not both`);
    } else if (a.command) {
      agentValue = { command: a.command };
    } else if (a.backend && a.model) {
      agentValue = { backend: a.backend, model: a.model };
    } else if (a.backend) {
      problems.push(`${agentAt}.model: required with backend: ollama — name a model the inference router serves, like qwen2.5-coder:32b`);
    } else if (a.model) {
      problems.push(`${agentAt}.backend: required with model — set backend: ollama`);
    } else {
      problems.push(`${agentAt}: give command (like ["claude", "-p", "{prompt}"]) or backend: ollama with model`);
    }
  }

  if (problems.length > before || !parsed.success || agentValue === undefined) return undefined;

  const p = parsed.data;
  const memoryValue = p.resources?.memory ?? defaults.resources?.memory ?? BUILTIN_DEFAULTS.memory;
  const project: Project = {
    name,
    branch: p.branch ?? defaults.branch ?? BUILTIN_DEFAULTS.branch,
    agent: agentValue,
    admins: p.admins ?? defaults.admins ?? [],
    env: p.env ?? defaults.env ?? [],
    priority: p.priority ?? defaults.priority ?? 0,
    timeoutMinutes: p.timeoutMinutes ?? defaults.timeoutMinutes ?? BUILTIN_DEFAULTS.timeoutMinutes,
    resources: {
      cpus: p.resources?.cpus ?? defaults.resources?.cpus ?? BUILTIN_DEFAULTS.cpus,
      memoryBytes: parseMemory(memoryValue) ?? 0,
    },
  };
  if (p.repo !== undefined) project.repo = p.repo;
  if (p.workspace !== undefined) project.workspace = p.workspace;
  if (p.tracker !== undefined) project.tracker = p.tracker;
  const ch = p.channels ?? defaults.channels;
  if (ch !== undefined) project.channels = ch;
  const us = p.users ?? defaults.users;
  if (us !== undefined) project.users = us;
  return project;
}

/**
 * Parses and validates a catalogue. `defaults` merge into every project; a
 * project's own values win (lists replace, `resources` merges per field,
 * `agent` replaces as a whole).
 * @throws ConfigError naming every problem by its path.
 */
export function parseCatalogue(yamlText: string, source: string): Catalogue {
  const hint = 'see projects.example.yml';
  const doc = parseDocument(yamlText, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => {
        const line = e.linePos?.[0];
        const where = line ? `line ${line.line}, column ${line.col}` : '(file)';
        const what = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return `${where}: ${what} — fix the YAML syntax (indent with spaces, quote values containing ': ' or ' #')`;
      }),
    );
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) {
    throw new ConfigError(source, [`(file): is empty — define at least one project under projects:, ${hint}`]);
  }

  const problems: string[] = [];
  const top = topSchema.safeParse(data);
  if (!top.success) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new ConfigError(source, [`(file): must be a mapping with projects: (and optionally defaults:), got ${describe(data)} — ${hint}`]);
    }
    problems.push(...issueLines(top.error.issues, []));
  }
  const obj = data as Record<string, unknown>;

  let defaults: Defaults = {};
  if (obj.defaults !== undefined && obj.defaults !== null) {
    const d = defaultsSchema.safeParse(obj.defaults);
    if (d.success) defaults = d.data;
    else {
      problems.push(...issueLines(d.error.issues, ['defaults']));
      // Keep the valid parts so projects are still checked against something sensible.
      const partial = defaultsSchema.safeParse(
        Object.fromEntries(
          Object.entries(obj.defaults as Record<string, unknown>).filter(([k, v]) => {
            const field = (defaultsSchema.shape as Record<string, z.ZodType>)[k];
            return field !== undefined && field.safeParse(v).success;
          }),
        ),
      );
      if (partial.success) defaults = partial.data;
    }
  }

  const projects = new Map<string, Project>();
  const rawProjects = obj.projects;
  if (rawProjects !== null && typeof rawProjects === 'object' && !Array.isArray(rawProjects)) {
    const seen = new Map<string, string>();
    const entries = Object.entries(rawProjects);
    if (entries.length === 0) problems.push(`projects: is empty — define at least one project, ${hint}`);
    for (const [name, raw] of entries) {
      const other = seen.get(name.toLowerCase());
      if (other !== undefined) {
        problems.push(`projects.${name}: same name as ${other} apart from case — project names are matched case-insensitively; rename one`);
      }
      seen.set(name.toLowerCase(), name);
      const project = buildProject(name, raw, defaults, problems);
      if (project) projects.set(name, project);
    }
  }

  if (problems.length > 0) throw new ConfigError(source, [...new Set(problems)]);
  return new ProjectCatalogue(new Map([...projects].sort(([a], [b]) => a.localeCompare(b))));
}

/**
 * Reads and parses a catalogue file.
 * @throws ConfigError when the file is missing, unreadable or invalid.
 */
export async function loadCatalogue(file: string): Promise<Catalogue> {
  return parseCatalogue(await readCatalogueFile(file), file);
}

async function readCatalogueFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(file, [`PROJECTS_FILE: ${file} does not exist — copy projects.example.yml to ${file} or set PROJECTS_FILE`]);
    }
    throw new ConfigError(file, [`PROJECTS_FILE: ${file} cannot be read (${code ?? 'error'}) — check the path and its permissions`]);
  }
}

// ---------------------------------------------------------------- permissions

/**
 * Whether this user may start a job of `p` from this channel. Admins pass the
 * user check (they run the project) but not the channel check. The reason is
 * written for the user in Slack mrkdwn.
 */
export function mayDispatch(p: Project, channel: string, user: string): { ok: true } | { ok: false; reason: string } {
  if (p.channels !== undefined && !p.channels.includes(channel)) {
    const list = p.channels.map((c) => `<#${c}>`).join(', ');
    return { ok: false, reason: `${p.name} can't be started from this channel. Ask in one of: ${list}.` };
  }
  if (p.users !== undefined && !p.users.includes(user) && !p.admins.includes(user)) {
    const who =
      p.admins.length > 0
        ? `one of its admins (${p.admins.map((u) => `<@${u}>`).join(', ')})`
        : 'whoever runs Switchboard';
    return { ok: false, reason: `You're not on the list of people who may start ${p.name}. Ask ${who} to add you.` };
  }
  return { ok: true };
}

/** Projects this channel and user may both use, sorted by name. */
export function projectsFor(cat: Catalogue, channel: string, user: string): Project[] {
  return [...cat.projects.values()]
    .filter((p) => mayDispatch(p, channel, user).ok)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** `owner/name` (or `group/sub/name`) of a git URL or path, lower-cased, without `.git`. */
export function repoPath(urlOrPath: string): string | undefined {
  let path = urlOrPath.trim();
  const scp = /^[\w.-]+@[\w.-]+:(?!\/\/)(.+)$/.exec(path);
  if (scp) path = scp[1] ?? '';
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      return undefined;
    }
  }
  path = path.replace(/^\/+|\/+$/g, '').replace(/\.git$/i, '');
  return path.includes('/') ? path.toLowerCase() : undefined;
}

/**
 * The project for a repository given as `owner/name` (or a URL): a tracker
 * match wins over a repo-URL match; among equals, the first by name.
 */
export function findProjectByRepo(cat: Catalogue, ownerRepo: string): Project | undefined {
  const wanted = repoPath(ownerRepo);
  if (wanted === undefined) return undefined;
  const all = [...cat.projects.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    all.find((p) => p.tracker !== undefined && p.tracker.repo.toLowerCase() === wanted) ??
    all.find((p) => p.repo !== undefined && repoPath(p.repo) === wanted)
  );
}

// ---------------------------------------------------------------- live reload

export interface CatalogueWatcherOptions {
  onReload?: (c: Catalogue) => void;
  /** Called with a ConfigError when an edit is invalid or the file vanished; the last good catalogue stays in use. */
  onError?: (e: Error) => void;
  /** Poll interval; default 2000 ms. */
  intervalMs?: number;
}

/**
 * Keeps the catalogue current without a restart. It polls the file's stat
 * (inode, size, mtime, ctime) on a timer: unlike fs.watch this survives
 * editors and ConfigMap updates that replace the file by rename, and unlike
 * fs.watchFile the baseline is the stat taken just before the last read, so an
 * edit made right after a load is never missed. A change is read once its stat
 * has been stable for one interval. An invalid edit is reported
 * through onError (once per distinct content) and the last good catalogue
 * stays in use.
 */
export class CatalogueWatcher {
  private catalogue: Catalogue | undefined;
  private lastText: string | undefined;
  private lastSignature: string | undefined;
  private pendingSignature: string | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly opts: CatalogueWatcherOptions = {},
  ) {}

  /** Loads the catalogue once (throws ConfigError if invalid), then watches the file. */
  static async open(file: string, opts: CatalogueWatcherOptions = {}): Promise<CatalogueWatcher> {
    const w = new CatalogueWatcher(file, opts);
    await w.reload();
    w.start();
    return w;
  }

  /** The catalogue in use. */
  current(): Catalogue {
    if (this.catalogue === undefined) throw new Error('CatalogueWatcher: no catalogue loaded yet — use CatalogueWatcher.open()');
    return this.catalogue;
  }

  /** Starts polling (idempotent; `open()` calls it). The timer does not keep the process alive. */
  start(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => void this.poll(), this.opts.intervalMs ?? 2000);
    this.timer.unref();
  }

  /**
   * Re-reads the file now (what a detected change does; also handy for
   * SIGHUP). Resolves with the catalogue in use afterwards; an invalid file
   * rejects with a ConfigError and leaves the last good catalogue in place.
   */
  reload(): Promise<Catalogue> {
    const next = this.chain.then(() => this.load());
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const signature = await this.signature();
      if (signature === this.lastSignature) {
        this.pendingSignature = undefined;
      } else if (signature !== this.pendingSignature) {
        // Changed: wait one more interval for it to settle, so a file being
        // written in place (truncate, then write) is not read half-way.
        this.pendingSignature = signature;
      } else {
        this.pendingSignature = undefined;
        await this.reload().catch(() => undefined);
      }
    } finally {
      this.polling = false;
    }
  }

  private async signature(): Promise<string> {
    try {
      const st = await stat(this.file);
      return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch (e) {
      return `error:${(e as NodeJS.ErrnoException).code ?? 'unknown'}`;
    }
  }

  private async load(): Promise<Catalogue> {
    // Stat before reading: a change that lands during the read shows up as a
    // new signature on the next poll instead of being lost.
    const signature = await this.signature();
    const sameFile = signature === this.lastSignature;
    this.lastSignature = signature;
    let text: string;
    try {
      text = await readCatalogueFile(this.file);
    } catch (e) {
      if (!sameFile) this.report(e as Error);
      this.lastText = undefined;
      throw e;
    }
    if (this.catalogue !== undefined && text === this.lastText) return this.catalogue;
    const changed = text !== this.lastText;
    this.lastText = text;
    let cat: Catalogue;
    try {
      cat = parseCatalogue(text, this.file);
    } catch (e) {
      if (changed) this.report(e as Error);
      throw e;
    }
    const first = this.catalogue === undefined;
    this.catalogue = cat;
    if (!first && !this.closed) this.opts.onReload?.(cat);
    return cat;
  }

  /** Problems with an edit go to onError; before the first good load the caller gets the throw. */
  private report(err: Error): void {
    if (this.catalogue !== undefined && !this.closed) this.opts.onError?.(err);
  }
}
