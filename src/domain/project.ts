// A project of the catalogue, as the rest of Switchboard sees it: already
// validated, defaults merged. Pure data; config/ builds it from PROJECTS_FILE.

/** Letters, digits, '.', '_' and '-', starting with a letter or digit. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9._-]*$/i;

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
  agent: { command: string[] } | BuiltinAgent;
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

export interface Catalogue {
  readonly projects: ReadonlyMap<string, Project>;
  /** Case-insensitive lookup by project name. */
  get(name: string): Project | undefined;
}
