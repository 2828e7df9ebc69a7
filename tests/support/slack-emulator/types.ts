// Public types of the Slack emulator (tests/support/slack-emulator).

export interface EmulatorOptions {
  botToken?: string;
  appToken?: string;
  signingSecret?: string;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  appId?: string;
  /** Calls per window per method (per workspace), overriding the tier defaults; e.g. { 'chat.update': 5 }.
   * For `chat.postMessage` the figure applies per channel. */
  rateLimits?: Record<string, number>;
  /** Length of the sliding rate-limit window; default 60 000 ms like Slack (÷ timeScale). Shorten it in tests. */
  rateWindowMs?: number;
  /** Seconds sent in Retry-After with a 429; default: until the limit frees a slot, rounded up (at least 1). */
  retryAfterSeconds?: number;
  /**
   * Runs Slack's rate-limit clock this many times faster (benches, load tests):
   * the window is 60 s / timeScale unless rateWindowMs is given, and
   * chat.postMessage refills timeScale per second per channel. Default 1.
   */
  timeScale?: number;
  /** More workspaces (bot token → team id) with rate limits of their own; the same channels and messages. */
  otherWorkspaces?: Record<string, string>;
  /** Socket Mode envelope / HTTP event retry timeout; default 3000 ms like Slack. */
  ackTimeoutMs?: number;
  /** How many redeliveries after the first attempt; default 3 like Slack. */
  maxRetries?: number;
  /** Where to listen; default 127.0.0.1 on a free port. */
  listenHost?: string;
  port?: number;
  /** `host:port` as apps reach it (its Web API and Socket Mode URLs), when that is not the listening address: a Compose service name. */
  publicBase?: string;
}

export interface RecordedMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  user?: string;
  bot_id?: string;
  /** How many times chat.update changed it. */
  updates: number;
  /** Earlier versions, oldest first (the current one is not included). */
  history: Array<{ text?: string; blocks?: unknown[] }>;
  /** Reactions on it (reactions.add), in the order they were first added, each with who added it. */
  reactions?: Array<{ name: string; users: string[] }>;
}

export interface RecordedCall {
  /** Position in arrival order (0, 1, …). */
  seq: number;
  /** When the request arrived (ms since the epoch, emulator clock). */
  at: number;
  /** The workspace whose token made the call (unset when the token was missing or wrong). */
  team?: string;
  method: string;
  /** Decoded arguments (blocks/attachments parsed from JSON), without the token. */
  args: Record<string, unknown>;
  status: number;
  ok: boolean;
  error?: string;
}

export interface RecordedEphemeral {
  channel: string;
  user: string;
  text?: string;
  blocks?: unknown[];
  thread_ts?: string;
  message_ts: string;
}

export interface RecordedResponse {
  url: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export type DeliveryKind = 'events_api' | 'slash_commands' | 'interactive';

/** One attempt to hand something to the app (an envelope or an HTTP POST). */
export interface DeliveryAttempt {
  id: string;
  kind: DeliveryKind;
  transport: 'socket' | 'http';
  attempt: number;
  retry_reason?: string;
  outcome: 'acked' | 'timeout' | 'http_error' | 'no_connection' | 'pending' | 'cancelled';
  status?: number;
}

export type ChannelType = 'channel' | 'im' | 'group' | 'mpim';
