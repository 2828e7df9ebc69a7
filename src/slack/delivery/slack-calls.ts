// One Web API call and what its failure means. The client is built so that it
// never waits on its own: @slack/web-api pauses its whole request queue on a
// 429 and retries for about 30 minutes by default, so one rate-limited method
// would hold back every other call. Here it rejects a 429 at once
// (rejectRateLimitedCalls), retries nothing itself, and gives up after a
// timeout; SlackDelivery decides what to retry, when, and for whom.
import {
  WebClient,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  type WebClientOptions,
  LogLevel,
} from '@slack/web-api';

export interface CallClientOptions {
  token: string;
  apiUrl: string;
  timeoutMs: number;
  /** For tests and benches: the fetch the client uses. */
  extra?: Partial<WebClientOptions>;
}

export function createDeliveryClient(o: CallClientOptions): WebClient {
  return new WebClient(o.token, {
    slackApiUrl: o.apiUrl,
    timeout: o.timeoutMs,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    // Our lanes already pace calls; the client's own queue must never be the bottleneck.
    maxRequestConcurrency: 1000,
    logLevel: LogLevel.ERROR,
    ...o.extra,
  });
}

export type CallOutcome = 'ok' | 'rate_limited' | 'platform_error' | 'server_error' | 'network_error';

export type CallFailure =
  | { kind: 'rate_limited'; retryAfterMs: number }
  /** 5xx, timeouts and network errors: worth a bounded number of retries. */
  | { kind: 'transient'; outcome: 'server_error' | 'network_error' }
  /** ok:false (channel_not_found, …) or anything else: retrying will not help. */
  | { kind: 'permanent'; outcome: 'platform_error' };

export function classifyFailure(err: unknown): CallFailure {
  if (err instanceof WebAPIRateLimitedError) return { kind: 'rate_limited', retryAfterMs: Math.max(1, err.retryAfter) * 1000 };
  if (err instanceof WebAPIHTTPError) {
    return err.statusCode >= 500 || err.statusCode === 408
      ? { kind: 'transient', outcome: 'server_error' }
      : { kind: 'permanent', outcome: 'platform_error' };
  }
  if (err instanceof WebAPIRequestError) return { kind: 'transient', outcome: 'network_error' };
  if (err instanceof WebAPIPlatformError) {
    // Slack's own "try again" answers.
    const code = err.data.error;
    if (code === 'internal_error' || code === 'fatal_error' || code === 'service_unavailable' || code === 'request_timeout') {
      return { kind: 'transient', outcome: 'server_error' };
    }
  }
  return { kind: 'permanent', outcome: 'platform_error' };
}
