// A project of the catalogue, as the rest of Switchboard sees it: already
// validated, defaults merged. Pure data; config/ builds it from PROJECTS_FILE.

/** Letters, digits, '.', '_' and '-', starting with a letter or digit. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9._-]*$/i;
/** Names of a project's agents (`agents:`): the same characters. */
export const AGENT_NAME = PROJECT_NAME;

export interface Project {
  name: string;
  /** git URL the agent clones; exactly one of repo / workspace. */
  repo?: string;
  /** Absolute host path, bind-mounted as /workspace (docker only). */
  workspace?: string;
  branch: string;
  /**
   * Where issues live. `url`: a self-managed instance's web address; `token`:
   * the NAME of the dispatcher's environment variable with the token the runner
   * reads issues, pushes and opens pull/merge requests with (never given to the agent).
   */
  tracker?: { type: 'github' | 'gitlab' | 'jira'; repo: string; url?: string; token?: string };
  /** The prompt template (`{ref}`, `{project}`, `{issue}`, `{request}`); unset: the built-in one. */
  prompt?: string;
  /** Author of the commits the runner makes; unset: Switchboard <switchboard@localhost>. */
  commitAuthor?: { name: string; email: string };
  agent: AgentConfig;
  /** Named alternatives to `agent` (`… with aider`), by name as written in the catalogue. */
  agents?: Readonly<Record<string, AgentConfig>>;
  /** A request in a busy channel: refused with a link to the running job (unset), or waits behind it. */
  busy?: 'reject' | 'queue';
  /** Channel IDs that may dispatch it; undefined = any channel. */
  channels?: string[];
  /** User IDs that may dispatch it; undefined = any user of this workspace. */
  users?: string[];
  /** Whether a direct message with the bot may start it; unset = no. */
  allowDMs?: boolean;
  admins: string[];
  /** Names of environment variables passed through to the agent. */
  env: string[];
  priority: number;
  timeoutMinutes: number;
  resources: { cpus: number; memoryBytes: number };
  /** Per-job inference budget; the job is stopped when it passes it (domain/budget.ts). */
  budget?: { tokens?: number; gpuSeconds?: number };
}

/** `agent: { backend: ollama, model, … }`: the runner's own coding loop on the inference endpoint. */
export interface BuiltinAgent {
  backend: 'ollama';
  model: string;
  /** Commands it may run, each an exact argument list; a last element "..." allows more arguments. */
  allow: string[][];
  /** Caps; each ends the job as failed when passed. Unset: the defaults in config/catalogue-schema.ts. */
  maxIterations: number;
  maxTokens: number;
  maxMinutes: number;
}

/** What runs inside the container: a CLI (stdin a pipe unless `closed`), or the built-in loop. */
export type AgentConfig = { command: string[]; stdin?: 'closed' } | BuiltinAgent;

/** The project's agent called `name` (case-insensitive), or undefined. */
export function namedAgent(project: Pick<Project, 'agents'>, name: string): { name: string; agent: AgentConfig } | undefined {
  const wanted = name.toLowerCase();
  const found = Object.entries(project.agents ?? {}).find(([n]) => n.toLowerCase() === wanted);
  return found ? { name: found[0], agent: found[1] } : undefined;
}

/** The agent a job runs: the named one when it asked for one, else the project's default. */
export function agentFor(project: Pick<Project, 'agent' | 'agents'>, name: string | undefined): AgentConfig | undefined {
  return name === undefined ? project.agent : namedAgent(project, name)?.agent;
}

export interface Catalogue {
  readonly projects: ReadonlyMap<string, Project>;
  /** Case-insensitive lookup by project name. */
  get(name: string): Project | undefined;
}
