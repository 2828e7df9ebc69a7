// Whether Slack takes our tokens and answers at all, as a new user meets it:
// a rejected token stops the process with a fix-it message naming the
// variable; an unreachable Slack is logged once (URL and method) and retried
// with back-off; /readyz reports what we know without failing readiness.
import { WebClient, LogLevel, type Logger as SlackLogger } from '@slack/web-api';
import { ErrorCode, SwitchboardError } from '../errors.js';
import type { Logger } from '../observability/logger.js';

/** Slack's answers that mean "this token will never work": retrying cannot help. */
export const REJECTED_TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'user_removed_from_team',
  'team_disabled',
  'not_allowed_token_type',
]);

export type TokenVariable = 'SLACK_BOT_TOKEN' | 'SLACK_APP_TOKEN';

const TOKEN_KIND: Record<TokenVariable, string> = {
  SLACK_BOT_TOKEN: 'the bot token (xoxb-…, "OAuth & Permissions" → Bot User OAuth Token)',
  SLACK_APP_TOKEN: 'the app-level token (xapp-…, "Basic Information" → App-Level Tokens, scope connections:write)',
};

export class SlackTokenRejectedError extends SwitchboardError {
  constructor(
    readonly variable: TokenVariable,
    readonly slackError: string,
    method: string,
    apiUrl: string,
  ) {
    super(
      ErrorCode.SlackTokenRejected,
      `Slack rejected ${variable} (${slackError} from ${method} at ${apiUrl}): set ${variable} to ${TOKEN_KIND[variable]} of your Slack app at https://api.slack.com/apps, then restart`,
      { operatorHint: `a placeholder, revoked or mistyped ${variable}; reinstalling the app issues new tokens` },
    );
    this.name = 'SlackTokenRejectedError';
  }
}

/** Who the bot token belongs to (auth.test): Bolt needs it to tell the bot's own messages apart. */
export interface SlackIdentity {
  botId: string;
  botUserId: string;
  teamId?: string;
}

export interface SlackConnectionOptions {
  apiUrl: string;
  botToken: string;
  /** Socket mode: the app-level token is checked too (apps.connections.open). */
  appToken?: string;
  logger: Logger;
  /** First wait between two attempts while Slack is unreachable; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
}

type Check = { ok: true; identity: SlackIdentity } | { ok: false; method: string; err: unknown };

const quiet: SlackLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export class SlackConnection {
  private readonly client: WebClient;
  private readonly now: () => number;
  private lastGoodAuthAt?: number;
  private unreachableSince?: number;
  private lastProblem?: string;
  private socket: { state: 'connecting' | 'connected' | 'disconnected'; since: number } | undefined;
  private identityValue?: SlackIdentity;
  private readonly stopped = new AbortController();
  private retrying = false;
  private onFatal?: (err: Error) => void;
  private resolveIdentity!: (id: SlackIdentity) => void;
  private readonly identified = new Promise<SlackIdentity>((resolve) => (this.resolveIdentity = resolve));

  constructor(private readonly o: SlackConnectionOptions) {
    this.now = o.now ?? Date.now;
    // One attempt per call, no log of its own: this class decides what is said and when to retry.
    this.client = new WebClient(undefined, {
      slackApiUrl: o.apiUrl,
      logger: quiet,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: 10_000,
    });
    if (o.appToken !== undefined) this.socket = { state: 'connecting', since: this.now() };
  }

  get identity(): SlackIdentity | undefined {
    return this.identityValue;
  }

  /**
   * The first check, at start-up. Throws SlackTokenRejectedError when a token
   * is refused. When Slack does not answer, says so once and keeps trying with
   * back-off in the background: false is returned at once (start-up goes on),
   * whenIdentified() resolves when Slack answers, and a token refused then
   * reaches `onFatal`.
   */
  async start(onFatal: (err: Error) => void): Promise<boolean> {
    this.onFatal = onFatal;
    const first = await this.check();
    if (first.ok) return true;
    this.sayUnreachable(first.method, first.err);
    this.retryInBackground();
    return false;
  }

  /** Resolves once auth.test has answered for the bot token (and the app token was accepted). */
  whenIdentified(): Promise<SlackIdentity> {
    return this.identified;
  }

  /** Checks again after the socket dropped: an outage is said once, a revoked token stops the process. */
  recheck(): void {
    this.retryInBackground(0);
  }

  private retryInBackground(firstWaitMs = this.o.backoffMs ?? 1000): void {
    if (this.retrying || this.stopped.signal.aborted) return;
    this.retrying = true;
    void this.retryUntilAnswered(firstWaitMs)
      .catch((err: Error) => this.onFatal?.(err))
      .finally(() => (this.retrying = false));
  }

  private async retryUntilAnswered(firstWaitMs: number): Promise<void> {
    let wait = firstWaitMs;
    const max = this.o.maxBackoffMs ?? 60_000;
    while (!this.stopped.signal.aborted) {
      await sleep(wait, this.stopped.signal);
      if (this.stopped.signal.aborted) return;
      const result = await this.check();
      if (result.ok) return;
      this.sayUnreachable(result.method, result.err);
      wait = Math.min(max, Math.max(wait * 2, this.o.backoffMs ?? 1000));
    }
  }

  /** One round of checks: the bot token (auth.test), then the app token (apps.connections.open). */
  async check(): Promise<Check> {
    let identity: SlackIdentity;
    try {
      const r = await this.client.auth.test({ token: this.o.botToken });
      identity = { botId: String(r.bot_id ?? ''), botUserId: String(r.user_id ?? ''), ...(r.team_id ? { teamId: r.team_id } : {}) };
    } catch (err) {
      this.throwIfRejected(err, 'SLACK_BOT_TOKEN', 'auth.test');
      return { ok: false, method: 'auth.test', err };
    }
    if (this.o.appToken !== undefined) {
      try {
        // The URL it hands out is simply not used: Socket Mode fetches its own.
        await this.client.apps.connections.open({ token: this.o.appToken });
      } catch (err) {
        this.throwIfRejected(err, 'SLACK_APP_TOKEN', 'apps.connections.open');
        return { ok: false, method: 'apps.connections.open', err };
      }
    }
    this.identityValue = identity;
    this.resolveIdentity(identity);
    this.lastGoodAuthAt = this.now();
    if (this.unreachableSince !== undefined) {
      this.o.logger.info({ url: this.o.apiUrl, downForMs: this.now() - this.unreachableSince }, 'Slack answers again');
      this.unreachableSince = undefined;
      this.lastProblem = undefined;
    }
    return { ok: true, identity };
  }

  /** Said once per outage; the retries after it stay quiet (debug). */
  private sayUnreachable(method: string, err: unknown): void {
    const url = new URL(method, this.o.apiUrl.endsWith('/') ? this.o.apiUrl : `${this.o.apiUrl}/`).toString();
    this.lastProblem = `${method} at ${url}: ${describeFailure(err)}`;
    if (this.unreachableSince === undefined) {
      this.unreachableSince = this.now();
      this.o.logger.warn({ url, method, err }, 'Slack is unreachable; retrying with back-off (said once until it answers)');
    } else {
      this.o.logger.debug({ url, method, err }, 'Slack is still unreachable');
    }
  }

  private throwIfRejected(err: unknown, variable: TokenVariable, method: string): void {
    const slackError = (err as { code?: string; data?: { error?: string } }).data?.error;
    if ((err as { code?: string }).code === 'slack_webapi_platform_error' && slackError && REJECTED_TOKEN_ERRORS.has(slackError)) {
      throw new SlackTokenRejectedError(variable, slackError, method, this.o.apiUrl);
    }
  }

  /** The Socket Mode client's state, for /readyz. */
  socketState(state: 'connecting' | 'connected' | 'disconnected'): void {
    if (this.socket?.state !== state) this.socket = { state, since: this.now() };
  }

  /** One line for /readyz: informational, never a reason to be unready. */
  describe(): string {
    const at = (ms: number) => new Date(ms).toISOString();
    const parts: string[] = [];
    if (this.socket) parts.push(`socket ${this.socket.state} since ${at(this.socket.since)}`);
    parts.push(
      this.lastGoodAuthAt === undefined ? 'no successful auth.test yet' : `last successful auth.test at ${at(this.lastGoodAuthAt)}`,
    );
    if (this.unreachableSince !== undefined)
      parts.push(`unreachable since ${at(this.unreachableSince)} (${this.lastProblem ?? 'no answer'}), retrying`);
    return parts.join('; ');
  }

  close(): void {
    this.stopped.abort();
  }
}

function describeFailure(err: unknown): string {
  const e = err as {
    code?: string;
    statusCode?: number;
    data?: { error?: string };
    original?: Error;
    retryAfter?: number;
    message?: string;
  };
  if (e.code === 'slack_webapi_http_error') return `HTTP ${e.statusCode ?? '?'}`;
  if (e.code === 'slack_webapi_rate_limited_error') return `rate limited (retry after ${e.retryAfter ?? '?'} s)`;
  if (e.code === 'slack_webapi_platform_error') return e.data?.error ?? 'error';
  const cause = (e.original as { cause?: Error } | undefined)?.cause;
  return [e.original?.message ?? e.message, cause?.message].filter(Boolean).join(': ') || String(err);
}
