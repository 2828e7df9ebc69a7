// The inference router: picks the route's model, waits for a fair turn at a
// GPU slot (slot-queue.ts), sends the request to the first endpoint that can
// serve it, and falls back to the next one when an endpoint fails before the
// answer began (unreachable, timed out, 503, model missing). A failing
// endpoint cools down (endpoint-pool.ts). When none can serve, the error says
// why for each.
import { EndpointPool, hasModel, type EndpointState } from './endpoint-pool.js';
import { ErrorCode } from '../errors.js';
import { ProviderError, type GenerationBody, type GenerationChunk, type GenerationKind } from './provider.js';
import { NoEndpointError, type SlotGrant, type SlotQueue } from './slot-queue.js';

export type Route = 'light' | 'heavy';

export interface RouteModels {
  light?: string;
  heavy?: string;
}

/** What one request used: the job's usage and budget are made of these. */
export interface Usage {
  model: string;
  endpoint: string;
  promptTokens: number;
  completionTokens: number;
  /** Time the request held a GPU slot. */
  gpuSeconds: number;
  waitedMs: number;
}

/** Why the router could not serve a request; `status` is what an HTTP client gets. */
export class InferenceUnavailableError extends Error {
  readonly code = ErrorCode.InferenceUnavailable;
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'InferenceUnavailableError';
  }
}

export interface InferenceCall {
  route: Route;
  kind: GenerationKind;
  /** The client's body; its `model` is kept when an endpoint has it, else the route's model is used. */
  body: Record<string, unknown>;
  /** Whose turn it is (a job id) and its weight in the fair queue. */
  tenant: string;
  weight: number;
  signal: AbortSignal;
  onPosition?: (position: number, waiting: number) => void;
  /** Called once when the request ends, however it ends, after its slot is freed. */
  onSettled?: (usage: Usage, outcome: 'completed' | 'failed' | 'cancelled') => void;
}

export interface InferenceStream {
  model: string;
  endpoint: string;
  waitedMs: number;
  /** The answer's chunks in Ollama's format; stop iterating (or abort the call's signal) to cancel. */
  chunks: AsyncIterable<GenerationChunk>;
}

export interface RouterObserver {
  requestWaited?(route: Route, ms: number): void;
  requestEnded?(endpoint: string, outcome: 'completed' | 'failed' | 'cancelled', usage: Usage): void;
}

export interface RouterSettings {
  models: RouteModels;
  /** How long an endpoint may take to send the first chunk (model load included) before it counts as failed. */
  firstChunkTimeoutMs: number;
}

export class InferenceRouter {
  constructor(
    readonly pool: EndpointPool,
    private readonly slots: SlotQueue,
    private readonly settings: RouterSettings,
    private readonly observer: RouterObserver = {},
  ) {}

  /** The route's model, or undefined when the route is off. */
  modelOf(route: Route): string | undefined {
    return this.settings.models[route];
  }

  /** The model a request gets: the one it names when an endpoint is known to have it, else the route's. */
  resolveModel(route: Route, requested: unknown): string {
    if (
      typeof requested === 'string' &&
      requested !== '' &&
      this.pool.endpoints.some((e) => e.health && hasModel(e.health.models, requested))
    )
      return requested;
    const model = this.modelOf(route);
    if (!model)
      throw new InferenceUnavailableError(`the ${route} inference route is off (set INFERENCE_${route.toUpperCase()}_MODEL)`, 503);
    return model;
  }

  /**
   * Waits for a slot and starts the request. Resolves once the first chunk is
   * in (so a client can still get a clean HTTP error before that); rejects
   * with InferenceUnavailableError when no endpoint can serve, with a
   * ProviderError('rejected') when the endpoint refused the request itself,
   * and with the signal's reason when the call was cancelled.
   */
  async stream(call: InferenceCall): Promise<InferenceStream> {
    const model = this.resolveModel(call.route, call.body.model);
    const body: GenerationBody = { ...call.body, model };
    const tried = new Set<EndpointState>();
    let waitedMs = 0;
    const settle = (usage: Usage, outcome: 'completed' | 'failed' | 'cancelled') => {
      this.observer.requestEnded?.(usage.endpoint, outcome, usage);
      call.onSettled?.(usage, outcome);
    };
    for (;;) {
      const candidates = () => this.pool.candidates(model).filter((e) => !tried.has(e));
      if (candidates().length === 0) throw this.unavailable(model, tried.size > 0);
      let grant: SlotGrant;
      try {
        grant = await this.slots.acquire({
          tenant: call.tenant,
          weight: call.weight,
          endpoints: () => candidates().map((e) => e.provider.url),
          signal: call.signal,
          onPosition: call.onPosition,
          model,
        });
      } catch (err) {
        if (err instanceof NoEndpointError) throw this.unavailable(model, tried.size > 0);
        throw err;
      }
      waitedMs += grant.waitedMs;
      this.observer.requestWaited?.(call.route, grant.waitedMs);
      const endpoint = this.pool.byUrl(grant.endpoint)!;
      const upstream = new AbortController();
      const onAbort = () => upstream.abort(call.signal.reason);
      call.signal.addEventListener('abort', onAbort, { once: true });
      const firstChunkTimer = setTimeout(
        () => upstream.abort(new Error(`no answer within ${this.settings.firstChunkTimeoutMs} ms`)),
        this.settings.firstChunkTimeoutMs,
      );
      const usageOf = (promptTokens: number, completionTokens: number, heldMs: number): Usage => ({
        model,
        endpoint: grant.endpoint,
        promptTokens,
        completionTokens,
        gpuSeconds: heldMs / 1000,
        waitedMs,
      });
      let chunks: AsyncIterable<GenerationChunk>;
      try {
        chunks = await endpoint.provider.stream(call.kind, body, upstream.signal);
      } catch (err) {
        clearTimeout(firstChunkTimer);
        call.signal.removeEventListener('abort', onAbort);
        const held = await grant.release();
        if (call.signal.aborted) {
          settle(usageOf(0, 0, held), 'cancelled');
          throw call.signal.reason;
        }
        const failure = err instanceof ProviderError ? err : new ProviderError('unavailable', String(err));
        if (failure.failure === 'rejected') {
          settle(usageOf(0, 0, held), 'failed');
          throw failure;
        }
        if (failure.failure === 'model-missing') this.pool.lacksModel(endpoint, model);
        this.pool.failed(
          endpoint,
          failure.failure,
          upstream.signal.aborted ? String((upstream.signal.reason as Error)?.message ?? 'timed out') : failure.message,
        );
        tried.add(endpoint);
        continue;
      }
      clearTimeout(firstChunkTimer);
      const pool = this.pool;
      async function* relay(): AsyncGenerator<GenerationChunk> {
        let promptTokens = 0;
        let completionTokens = 0;
        let outcome: 'completed' | 'failed' | 'cancelled' = 'cancelled';
        try {
          for await (const chunk of chunks) {
            if (chunk.done) {
              promptTokens = chunk.prompt_eval_count ?? 0;
              completionTokens = chunk.eval_count ?? 0;
            } else if (chunk.message?.content || chunk.response) {
              completionTokens += 1; // a running count, replaced by eval_count at the end
            }
            yield chunk;
            if (chunk.done) outcome = 'completed';
          }
          if (outcome !== 'completed' && !call.signal.aborted) outcome = 'failed';
          if (outcome === 'completed') pool.succeeded(endpoint);
        } catch (err) {
          if (call.signal.aborted) outcome = 'cancelled';
          else {
            outcome = 'failed';
            pool.failed(endpoint, 'interrupted', err instanceof Error ? err.message : String(err));
          }
          throw err;
        } finally {
          call.signal.removeEventListener('abort', onAbort);
          upstream.abort(new Error('the client stopped reading'));
          const held = await grant.release();
          settle(usageOf(promptTokens, completionTokens, held), outcome);
        }
      }
      return { model, endpoint: grant.endpoint, waitedMs, chunks: relay() };
    }
  }

  private unavailable(model: string, triedSome: boolean): InferenceUnavailableError {
    const why = this.pool.explain(model);
    return new InferenceUnavailableError(
      `no inference endpoint can serve ${model} now${triedSome ? ' (tried every one)' : ''}: ${why}`,
      503,
    );
  }

  /**
   * One whole answer, for the dispatcher's own use (the light route reads
   * chat text): `format` is Ollama's (`'json'` or a JSON schema).
   */
  async chat(request: {
    route: Route;
    messages: { role: string; content: string }[];
    format?: unknown;
    options?: Record<string, unknown>;
    signal?: AbortSignal;
    tenant?: string;
    weight?: number;
  }): Promise<{ content: string; model: string; usage: { promptTokens: number; completionTokens: number } }> {
    const body: Record<string, unknown> = {
      messages: request.messages,
      ...(request.format !== undefined ? { format: request.format } : {}),
      ...(request.options ? { options: request.options } : {}),
    };
    const stream = await this.stream({
      route: request.route,
      kind: 'chat',
      body,
      tenant: request.tenant ?? 'chat',
      // The chat's own reading is short and someone is waiting for it: it goes ahead of agents.
      weight: request.weight ?? 16,
      signal: request.signal ?? AbortSignal.timeout(120_000),
    });
    let content = '';
    let promptTokens = 0;
    let completionTokens = 0;
    for await (const chunk of stream.chunks) {
      content += chunk.message?.content ?? '';
      if (chunk.done) {
        promptTokens = chunk.prompt_eval_count ?? 0;
        completionTokens = chunk.eval_count ?? 0;
      }
    }
    return { content, model: stream.model, usage: { promptTokens, completionTokens } };
  }
}
