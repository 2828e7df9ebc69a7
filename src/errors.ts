// Coded errors, in the manner of bolt-js `src/errors.ts`: one enum of stable
// codes and one class per kind of failure. An error speaks to two audiences,
// kept apart on purpose:
//   - `userText`: what a chat user may be told (no host paths, no commands,
//     no secrets). Unset means the user only hears "internal error, ref X".
//   - `operatorHint`: what whoever runs Switchboard should do about it
//     ("docker build --target agent …"). It goes to logs, never to chat.
// Log an error as `log.error({ err }, '…')`, never `err.message`: pino's error
// serializer keeps the stack, the `cause` chain, `code` and `operatorHint`.

export enum ErrorCode {
  ConfigInvalid = 'CONFIG_INVALID',
  ChatNotInChannel = 'CHAT_NOT_IN_CHANNEL',
  AgentImageMissing = 'AGENT_IMAGE_MISSING',
  AgentStartFailed = 'AGENT_START_FAILED',
  AgentImageRoot = 'AGENT_IMAGE_ROOT',
  RedisAclNotPermitted = 'REDIS_ACL_NOT_PERMITTED',
  DockerUnreachable = 'DOCKER_UNREACHABLE',
  SpawnerUnsupported = 'SPAWNER_UNSUPPORTED',
  /** The Kubernetes API refused or did not answer a spawner's call. */
  KubernetesApiFailed = 'KUBERNETES_API_FAILED',
  JobIdInvalid = 'JOB_ID_INVALID',
  /** A Slack Web API call failed for good, or the delivery stopped before it went out. */
  SlackCallFailed = 'SLACK_CALL_FAILED',
  /** Redis did not answer when the dispatcher started. */
  RedisUnreachable = 'REDIS_UNREACHABLE',
  /** Slack refused SLACK_BOT_TOKEN or SLACK_APP_TOKEN (invalid_auth, not_authed, token_revoked…). */
  SlackTokenRejected = 'SLACK_TOKEN_REJECTED',
  /** A request body over the route's limit (413). */
  HttpBodyTooLarge = 'HTTP_BODY_TOO_LARGE',
  /** The built-in agent's model called a tool with arguments it does not take. */
  AgentToolArgument = 'AGENT_TOOL_ARGUMENT',
  /** The built-in agent asked for a path outside its workspace. */
  AgentPathRefused = 'AGENT_PATH_REFUSED',
  /** The runner was started without what the container contract gives it (DESIGN §5). */
  RunnerUsage = 'RUNNER_USAGE',
  /** No inference endpoint can take a request now. */
  InferenceNoEndpoint = 'INFERENCE_NO_ENDPOINT',
  /** The inference router cannot serve a request (its HTTP status says why). */
  InferenceUnavailable = 'INFERENCE_UNAVAILABLE',
  /** The agents' inference endpoint refused a request (its HTTP status says why). */
  InferenceRequestRefused = 'INFERENCE_REQUEST_REFUSED',
  /** An inference provider (Ollama, an OpenAI-compatible server) failed a call. */
  InferenceProviderFailed = 'INFERENCE_PROVIDER_FAILED',
  /** GitHub or GitLab refused or failed a call (its kind says which way). */
  TrackerFailed = 'TRACKER_FAILED',
}

export interface CodedError extends Error {
  code: ErrorCode;
  /** Safe to show a chat user as is. */
  userText?: string;
  /** For operators only: logs and the terminal. */
  operatorHint?: string;
}

export interface SwitchboardErrorOptions {
  /** Safe to show a chat user; omit when the user should only see "internal error". */
  userText?: string;
  operatorHint?: string;
  cause?: unknown;
}

export class SwitchboardError extends Error implements CodedError {
  readonly userText?: string;
  readonly operatorHint?: string;

  /** `message` is the operator's description (logs); `userText` is the chat user's. */
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: SwitchboardErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwitchboardError';
    if (options.userText !== undefined) this.userText = options.userText;
    if (options.operatorHint !== undefined) this.operatorHint = options.operatorHint;
  }
}

/** A refusal the user should read as is ("invite me with /invite …"). */
export class UserFacingError extends SwitchboardError {
  constructor(code: ErrorCode, userText: string, options: Omit<SwitchboardErrorOptions, 'userText'> = {}) {
    super(code, userText, { ...options, userText });
    this.name = 'UserFacingError';
  }
}

/** Misconfiguration: every problem is one line `NAME: what is wrong — how to fix it`. */
export class ConfigError extends SwitchboardError {
  declare readonly code: ErrorCode.ConfigInvalid;

  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(ErrorCode.ConfigInvalid, `Invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      operatorHint: 'fix the lines above and restart (the catalogue reloads by itself)',
    });
    this.name = 'ConfigError';
  }
}

export function isCodedError(err: unknown): err is CodedError {
  return (
    err instanceof Error &&
    typeof (err as { code?: unknown }).code === 'string' &&
    Object.values(ErrorCode).includes((err as CodedError).code)
  );
}

/**
 * What a chat user may be told about `err`: its `userText` when it has one,
 * else `fallback`. Never the message of an arbitrary error, which may carry
 * host paths, commands for operators or credentials.
 */
export function userTextOf(err: unknown, fallback: string): string {
  return isCodedError(err) && err.userText !== undefined ? err.userText : fallback;
}

/** Whether an error means Redis could not be reached (rather than refused a command). */
export function isRedisUnavailable(err: unknown): boolean {
  // Duck-typed: errors made by Node's own modules need not be instances of this realm's Error.
  if (typeof err !== 'object' || err === null) return false;
  const { name, code, message } = err as { name?: string; code?: string; message?: string };
  if (name === 'MaxRetriesPerRequestError') return true;
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return true;
  return /Connection is closed|Stream isn't writeable|connect ETIMEDOUT|Command timed out|LOADING|enableOfflineQueue/i.test(message ?? '');
}
