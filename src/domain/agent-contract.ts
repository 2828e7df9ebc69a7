// DESIGN §5, the agent container contract, in one place (after bullmq's
// queue-keys.ts): the runner's arguments, the env names, the labels every
// agent carries, the Redis keys it may touch, and the stream and heartbeat
// limits. The spawners (docker, kubernetes) and the runner import it; a change
// here is a change of the contract, so other deployables must follow.

/** The runner's command-line options. */
export const AGENT_OPTIONS = {
  headless: '--headless',
  jobId: '--job-id',
  redisUrl: '--redis-url',
  platform: '--platform',
  channelId: '--channel-id',
} as const;

/** The platform the runner reports for (`--platform`). */
export const AGENT_PLATFORM = 'slack';

/** Environment names the runner reads. */
export const AGENT_ENV = {
  jobId: 'JOB_ID',
  project: 'PROJECT',
  channelId: 'CHANNEL_ID',
  userId: 'USER_ID',
  redisPrefix: 'REDIS_PREFIX',
  /** The per-job Redis URL when it is not an argument (a Kubernetes Job takes it from its Secret). */
  redisUrl: 'SWITCHBOARD_REDIS_URL',
  threadUrl: 'SWITCHBOARD_THREAD_URL',
  requester: 'SWITCHBOARD_REQUESTER',
  channelName: 'SWITCHBOARD_CHANNEL_NAME',
  /** Comma-separated names of the project's secret env values (blanked out of every report). */
  secretNames: 'SWITCHBOARD_SECRET_NAMES',
  inferenceUrl: 'SWITCHBOARD_INFERENCE_URL',
  inferenceToken: 'SWITCHBOARD_INFERENCE_TOKEN',
  // The same endpoint under the names off-the-shelf CLIs read (Ollama-native clients send no token: it is in the path).
  ollamaHost: 'OLLAMA_HOST',
  openAiBaseUrl: 'OPENAI_BASE_URL',
  openAiApiKey: 'OPENAI_API_KEY',
  // Between the dispatcher and its own runner: what to run, and where.
  issue: 'SWITCHBOARD_ISSUE',
  prompt: 'SWITCHBOARD_PROMPT',
  image: 'SWITCHBOARD_IMAGE',
  branch: 'SWITCHBOARD_BRANCH',
  agentCommand: 'SWITCHBOARD_AGENT_COMMAND',
  workspaceMounted: 'SWITCHBOARD_WORKSPACE_MOUNTED',
  repo: 'SWITCHBOARD_REPO',
  workspaceDir: 'SWITCHBOARD_WORKSPACE_DIR',
  /** The project's tracker as JSON (`{type, repo, url?}`): the runner reads the issue and opens the pull/merge request there. */
  tracker: 'SWITCHBOARD_TRACKER',
  /** The catalogue's prompt template (`prompt:`); unset: the built-in one. */
  promptTemplate: 'SWITCHBOARD_PROMPT_TEMPLATE',
  /** The commit author as JSON (`{name, email}`), from the catalogue's `commitAuthor:`. */
  commitAuthor: 'SWITCHBOARD_COMMIT_AUTHOR',
  /** `closed` (the catalogue's `agent: { stdin: closed }`): the command gets no stdin, for CLIs that read stdin to its end before they start; default a pipe for answers. */
  agentStdin: 'SWITCHBOARD_AGENT_STDIN',
  // The built-in agent (`agent: { backend: ollama, … }`) instead of a command.
  agentBackend: 'SWITCHBOARD_AGENT_BACKEND',
  agentModel: 'SWITCHBOARD_AGENT_MODEL',
  /** JSON list of argument vectors the built-in agent may run (agent.allow). */
  agentAllow: 'SWITCHBOARD_AGENT_ALLOW',
  agentMaxIterations: 'SWITCHBOARD_AGENT_MAX_ITERATIONS',
  agentMaxTokens: 'SWITCHBOARD_AGENT_MAX_TOKENS',
  agentMaxSeconds: 'SWITCHBOARD_AGENT_MAX_SECONDS',
} as const;

/** Labels (Docker) and labels (Kubernetes) on every agent. */
export const AGENT_LABELS = {
  jobId: 'switchboard.job-id',
  project: 'switchboard.project',
  channel: 'switchboard.channel',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;
export const MANAGED_BY = 'switchboard';
/** The label selector (and Docker label filter) that finds every agent. */
export const MANAGED_SELECTOR = `${AGENT_LABELS.managedBy}=${MANAGED_BY}`;

/** Events are trimmed to about this many entries (`XADD … MAXLEN ~`). */
export const STREAM_MAXLEN = 1000;
/** Event streams expire this long after their last refresh. */
export const STREAM_TTL_SECONDS = 7 * 24 * 60 * 60;
/** The heartbeat key lives this long; the runner refreshes it every HEARTBEAT_EVERY_MS. */
export const HEARTBEAT_TTL_MS = 10_000;
export const HEARTBEAT_EVERY_MS = 3_000;

export interface AgentIdentity {
  jobId: string;
  project: string;
  channel: string;
}

export function agentLabels(agent: AgentIdentity): Record<string, string> {
  return {
    [AGENT_LABELS.jobId]: agent.jobId,
    [AGENT_LABELS.project]: agent.project,
    [AGENT_LABELS.channel]: agent.channel,
    [AGENT_LABELS.managedBy]: MANAGED_BY,
  };
}

/** Reads an agent's identity back from its labels (listing, reconciling). */
export function identityFromLabels(labels: Record<string, string | undefined> | undefined): AgentIdentity {
  return {
    jobId: labels?.[AGENT_LABELS.jobId] ?? '',
    project: labels?.[AGENT_LABELS.project] ?? '',
    channel: labels?.[AGENT_LABELS.channel] ?? '',
  };
}

/**
 * The runner's arguments. Without `redisUrl` the `--redis-url` option is left
 * out and the runner reads AGENT_ENV.redisUrl instead.
 */
export function agentArgs(run: { jobId: string; channel: string; request: string; redisUrl?: string }): string[] {
  return [
    AGENT_OPTIONS.headless,
    AGENT_OPTIONS.jobId,
    run.jobId,
    ...(run.redisUrl === undefined ? [] : [AGENT_OPTIONS.redisUrl, run.redisUrl]),
    AGENT_OPTIONS.platform,
    AGENT_PLATFORM,
    AGENT_OPTIONS.channelId,
    run.channel,
    run.request,
  ];
}
