// The route's endpoints in the order OLLAMA_URL gives them, each with what the
// router knows about it: the models it has (from /api/tags), the ones loaded
// (/api/ps), and whether it is cooling down after a failure. Health is per
// replica on purpose: it is cheap to learn again, and a replica that cannot
// reach an endpoint should not use it even when another replica can.
import type { InferenceProvider, ModelHealth, ProviderFailure } from './provider.js';

export interface CooldownSettings {
  /** First cooldown after a failure; doubles with each failure in a row. */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_COOLDOWN: CooldownSettings = { baseMs: 5_000, maxMs: 120_000 };

export interface EndpointState {
  readonly provider: InferenceProvider;
  /** Epoch ms until which the endpoint is skipped; 0: not cooling. */
  coolUntil: number;
  /** Failures in a row (reset by a success). */
  failures: number;
  lastFailure?: string;
  health?: ModelHealth & { at: number };
}

export interface PoolEvents {
  onCooldown?(url: string, ms: number, why: string): void;
  onFailure?(url: string, failure: ProviderFailure): void;
}

export class EndpointPool {
  readonly endpoints: EndpointState[];

  constructor(
    providers: readonly InferenceProvider[],
    private readonly cooldown: CooldownSettings = DEFAULT_COOLDOWN,
    private readonly events: PoolEvents = {},
    private readonly now: () => number = Date.now,
  ) {
    this.endpoints = providers.map((provider) => ({ provider, coolUntil: 0, failures: 0 }));
  }

  /**
   * Endpoints that may serve `model` now, in preference order: not cooling
   * down, and either known to have the model or not checked yet.
   */
  candidates(model: string): EndpointState[] {
    const t = this.now();
    return this.endpoints.filter((e) => e.coolUntil <= t && (e.health === undefined || hasModel(e.health.models, model)));
  }

  /** Why no endpoint can serve `model`: one clause per endpoint, for the error a client or a person reads. */
  explain(model: string): string {
    const t = this.now();
    return this.endpoints
      .map((e) => {
        if (e.coolUntil > t)
          return `${e.provider.url} is cooling down for ${Math.ceil((e.coolUntil - t) / 1000)} s after "${e.lastFailure ?? 'a failure'}"`;
        if (e.health && !hasModel(e.health.models, model))
          return `${e.provider.url} does not have the model ${model} (ollama pull ${model})`;
        return `${e.provider.url} failed: ${e.lastFailure ?? 'unknown error'}`;
      })
      .join('; ');
  }

  byUrl(url: string): EndpointState | undefined {
    return this.endpoints.find((e) => e.provider.url === url);
  }

  succeeded(endpoint: EndpointState): void {
    endpoint.failures = 0;
    endpoint.coolUntil = 0;
  }

  /** Records a failure; `unavailable` and `busy` cool the endpoint down (doubling, capped). */
  failed(endpoint: EndpointState, failure: ProviderFailure, why: string): void {
    this.events.onFailure?.(endpoint.provider.url, failure);
    endpoint.lastFailure = why;
    if (failure !== 'unavailable' && failure !== 'busy' && failure !== 'interrupted') return;
    endpoint.failures += 1;
    const ms = Math.min(this.cooldown.maxMs, this.cooldown.baseMs * 2 ** (endpoint.failures - 1));
    endpoint.coolUntil = this.now() + ms;
    this.events.onCooldown?.(endpoint.provider.url, ms, why);
  }

  /** The model is not on that endpoint (a 404): remember it until the next health check. */
  lacksModel(endpoint: EndpointState, model: string): void {
    const models = (endpoint.health?.models ?? []).filter((m) => !sameModel(m, model));
    endpoint.health = { version: endpoint.health?.version ?? '', loaded: endpoint.health?.loaded ?? [], models, at: this.now() };
  }

  /** Asks every endpoint for its health (version, tags, ps); a failing one cools down. */
  async probe(timeoutMs: number): Promise<void> {
    await Promise.all(
      this.endpoints.map(async (e) => {
        try {
          const health = await e.provider.health(AbortSignal.timeout(timeoutMs));
          e.health = { ...health, at: this.now() };
          this.succeeded(e);
        } catch (err) {
          this.failed(e, 'unavailable', err instanceof Error ? err.message : String(err));
        }
      }),
    );
  }
}

/** Ollama's names: `llama3.2` is `llama3.2:latest`. */
export function sameModel(a: string, b: string): boolean {
  const norm = (m: string) => (m.includes(':') ? m : `${m}:latest`);
  return norm(a) === norm(b);
}

export function hasModel(models: readonly string[], model: string): boolean {
  return models.some((m) => sameModel(m, model));
}
