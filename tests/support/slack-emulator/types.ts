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
  /** Length of the sliding rate-limit window; default 60 000 ms like Slack. Shorten it in tests. */
  rateWindowMs?: number;
  /** Seconds sent in Retry-After with a 429; default 1. */
  retryAfterSeconds?: number;
  /** Socket Mode envelope / HTTP event retry timeout; default 3000 ms like Slack. */
  ackTimeoutMs?: number;
  /** How many redeliveries after the first attempt; default 3 like Slack. */
  maxRetries?: number;
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
}

export interface RecordedCall {
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
