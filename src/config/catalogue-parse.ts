// Catalogue text → validated Catalogue, or a ConfigError naming every problem.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { AGENT_NAME, PROJECT_NAME, type AgentConfig, type Catalogue, type Project } from '../domain/project.js';
import { agent, BUILTIN_DEFAULTS, builtinAgent, defaultsSchema, parseMemory, projectSchema, topSchema } from './catalogue-schema.js';
import { describeValue, issueLines } from './catalogue-problems.js';
import { trackerTokenName } from '../trackers/token-names.js';

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

/** One validated `agent:` (or named agent) → what runs, or undefined after adding its problems. `timeout`: the project's timeoutMinutes. */
function agentConfig(a: z.infer<typeof agent>, at: string, timeout: number, problems: string[]): AgentConfig | undefined {
  const builtinOnly = (['allow', 'maxIterations', 'maxTokens', 'maxMinutes'] as const).filter((k) => a[k] !== undefined);
  if (a.command && (a.backend || a.model)) {
    problems.push(`${at}: give either command or backend + model, not both`);
  } else if (a.command && builtinOnly.length) {
    problems.push(
      `${at}: ${builtinOnly.join(', ')} only apply to the built-in agent (backend: ollama) — remove them, or replace command with backend and model`,
    );
  } else if (a.command) {
    return a.stdin === 'closed' ? { command: a.command, stdin: 'closed' } : { command: a.command };
  } else if (a.stdin !== undefined) {
    problems.push(`${at}.stdin: only for an agent command — remove it, or give command`);
  } else if (a.backend && a.model) {
    const builtin = builtinAgent({ ...a, backend: a.backend, model: a.model }, timeout);
    if (typeof builtin === 'string') problems.push(`${at}.maxMinutes: ${builtin}`);
    else return builtin;
  } else if (a.backend) {
    problems.push(`${at}.model: required with backend: ollama — name a model the inference router serves, like qwen2.5-coder:32b`);
  } else if (a.model) {
    problems.push(`${at}.backend: required with model — set backend: ollama`);
  } else {
    problems.push(`${at}: give command (like ["claude", "-p", "{prompt}"]) or backend: ollama with model`);
  }
  return undefined;
}

function buildProject(name: string, raw: unknown, defaults: Defaults, problems: string[]): Project | undefined {
  const at = `projects.${name}`;
  const before = problems.length;
  if (!PROJECT_NAME.test(name)) {
    problems.push(`${at}: invalid project name — use letters, digits, '.', '_' and '-', starting with a letter or digit`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${at}: must be a mapping of settings (repo, agent, …), got ${describeValue(raw)}`);
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
  const a = parsed.success ? (parsed.data.agent ?? defaults.agent) : agent.safeParse(agentRaw).data;
  let agentValue: AgentConfig | undefined;
  const timeout = (parsed.success ? parsed.data.timeoutMinutes : undefined) ?? defaults.timeoutMinutes ?? BUILTIN_DEFAULTS.timeoutMinutes;
  if (agentRaw === undefined) {
    problems.push(
      `${at}.agent: required — give agent.command (like ["claude", "-p", "{prompt}"]) or agent.backend: ollama with agent.model, here or under defaults`,
    );
  } else if (a) {
    agentValue = agentConfig(a, agentAt, timeout, problems);
  }
  // Named agents replace the defaults' as a whole, like `agent`. Entries the schema refused are already reported.
  const agentsRaw = 'agents' in raw ? raw.agents : defaults.agents;
  const agentsAt = 'agents' in raw ? `${at}.agents` : 'defaults.agents';
  const agents: Record<string, AgentConfig> = {};
  const seenAgents = new Map<string, string>();
  if (agentsRaw !== null && typeof agentsRaw === 'object' && !Array.isArray(agentsRaw)) {
    for (const [agentName, config] of Object.entries(agentsRaw)) {
      if (!AGENT_NAME.test(agentName)) {
        problems.push(
          `${agentsAt}.${agentName}: not an agent name — use letters, digits, '.', '_' and '-', starting with a letter or digit`,
        );
      }
      const other = seenAgents.get(agentName.toLowerCase());
      if (other !== undefined)
        problems.push(
          `${agentsAt}.${agentName}: same name as ${other} apart from case — agent names are matched case-insensitively; rename one`,
        );
      seenAgents.set(agentName.toLowerCase(), agentName);
      const valid = agent.safeParse(config);
      const named = valid.success ? agentConfig(valid.data, `${agentsAt}.${agentName}`, timeout, problems) : undefined;
      if (named) agents[agentName] = named;
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
  if (Object.keys(agents).length) project.agents = agents;
  if ((p.busy ?? defaults.busy) === 'queue') project.busy = 'queue';
  if (p.repo !== undefined) project.repo = p.repo;
  if (p.workspace !== undefined) project.workspace = p.workspace;
  if (p.tracker !== undefined) {
    project.tracker = p.tracker;
    // The runner's push token must never reach the agent: it may not also be a pass-through env name.
    const tokenName = trackerTokenName(p.tracker);
    if (tokenName !== undefined && project.env.includes(tokenName)) {
      problems.push(
        `${at}.env: ${tokenName} is the tracker's token (tracker.token), which the runner keeps from the agent — remove it from env, or give the agent a token of its own under another name`,
      );
      return undefined;
    }
  }
  const prompt = p.prompt ?? defaults.prompt;
  if (prompt !== undefined) project.prompt = prompt;
  const author = p.commitAuthor ?? defaults.commitAuthor;
  if (author !== undefined) project.commitAuthor = author;
  const ch = p.channels ?? defaults.channels;
  if (ch !== undefined) project.channels = ch;
  if (p.allowDMs ?? defaults.allowDMs) project.allowDMs = true;
  const us = p.users ?? defaults.users;
  if (us !== undefined) project.users = us;
  const budget = p.budget ?? defaults.budget; // inference budget (issue 9): replaces as a whole, like agent
  if (budget !== undefined) project.budget = budget;
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
      throw new ConfigError(source, [
        `(file): must be a mapping with projects: (and optionally defaults:), got ${describeValue(data)} — ${hint}`,
      ]);
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

export async function readCatalogueFile(file: string): Promise<string> {
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
