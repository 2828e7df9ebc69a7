import { ErrorCode } from '../errors.js';
// The inference provider port: only the calls the router makes (STYLE habit 4,
// bullmq's "ports declare only the commands actually used"). Bodies and chunks
// stay in Ollama's wire format (docs/api.md), so an agent's request passes
// through with every option it set, and its answer comes back as it was sent.

/** A request body of /api/chat or /api/generate, as the client sent it (model already resolved). */
export type GenerationBody = Record<string, unknown> & { model: string };

/** One NDJSON chunk of a streamed answer; the last has `done: true` and the statistics. */
export type GenerationChunk = Record<string, unknown> & {
  done?: boolean;
  prompt_eval_count?: number;
  eval_count?: number;
  message?: { role?: string; content?: string; tool_calls?: unknown[] };
  response?: string;
};

export type GenerationKind = 'chat' | 'generate';

/**
 * Why a provider call failed, as the router needs to know it:
 * - `unavailable`: unreachable, timed out, 5xx — cool the endpoint down, try the next;
 * - `busy`: 503, its own queue is full — cool down, try the next;
 * - `model-missing`: 404, the endpoint lacks the model — try the next, no cooldown;
 * - `rejected`: 4xx, the request itself is wrong — no retry, the client hears it;
 * - `interrupted`: failed after the answer began (an error line mid-stream) — too late to retry.
 */
export type ProviderFailure = 'unavailable' | 'busy' | 'model-missing' | 'rejected' | 'interrupted';

export class ProviderError extends Error {
  readonly code = ErrorCode.InferenceProviderFailed;
  constructor(
    readonly failure: ProviderFailure,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderError';
  }
}

export interface ModelHealth {
  version: string;
  /** Models the endpoint has (/api/tags). */
  models: string[];
  /** Models loaded in memory right now (/api/ps). */
  loaded: string[];
}

export interface InferenceProvider {
  /** The endpoint's base URL (for logs and metric labels). */
  readonly url: string;
  /** /api/version, /api/tags and /api/ps. Throws ProviderError('unavailable') when any fails. */
  health(signal: AbortSignal): Promise<ModelHealth>;
  /** Streams a generation; the first chunk has arrived when the promise resolves. Aborting `signal` stops it upstream. */
  stream(kind: GenerationKind, body: GenerationBody, signal: AbortSignal): Promise<AsyncIterable<GenerationChunk>>;
}
