// The dispatcher's inference, built from config: the endpoints (OLLAMA_URL),
// the shared slot queue, the router, and the agents' endpoint on
// INFERENCE_PORT. Without OLLAMA_URL there is none, and jobs get no inference
// env. Other parts use `router` (the light route reads chat text with
// `router.chat({ route: 'light', messages, format })`), `tokens` (the
// supervisor issues one per job and revokes it at the end) and `agentUrl`.
import type { Redis } from 'ioredis';
import { ollamaEndpoints, type Config } from '../config/env.js';
import type { Keys } from '../domain/keys.js';
import type { Catalogue } from '../domain/project.js';
import type { JobRecord } from '../domain/job.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { AgentEndpoint } from './agent-endpoint.js';
import { defaultAgentUrl } from './agent-url.js';
import { DEFAULT_COOLDOWN, EndpointPool } from './endpoint-pool.js';
import { JobLedger } from './job-ledger.js';
import { JobTokens, jobTokenKeys } from './job-tokens.js';
import { OllamaProvider } from './ollama-provider.js';
import { InferenceRouter } from './router.js';
import type { GpuQueueView } from './gpu-queue.js';
import { DEFAULT_SLOT_SETTINGS, SlotQueue, slotQueueKeys } from './slot-queue.js';

export { InferenceRouter, InferenceUnavailableError, type Route, type Usage } from './router.js';
export { JobTokens } from './job-tokens.js';

/** How often endpoints are asked for their health, and how long one check may take. */
const PROBE_EVERY_MS = 30_000;
const PROBE_TIMEOUT_MS = 5_000;

export interface Inference {
  router: InferenceRouter;
  tokens: JobTokens;
  /** The GPU queue as the dashboard shows it (all replicas). */
  gpuQueue: GpuQueueView;
  /** The agents' base URL (SWITCHBOARD_INFERENCE_URL without a token). */
  agentUrl: string;
  /** The port the agents' endpoint listens on (INFERENCE_PORT, or the one picked for 0). */
  port: number;
  stop(): Promise<void>;
}

export interface InferenceDeps {
  redis: Redis;
  keys: Keys;
  prefix: string;
  jobs: { get(jobId: string): Promise<JobRecord | undefined> };
  catalogue: () => Catalogue;
  logger: Logger;
  metrics?: Metrics;
}

export async function startInference(config: Config, deps: InferenceDeps): Promise<Inference | undefined> {
  const urls = ollamaEndpoints(config);
  if (urls.length === 0) return undefined;
  const log = deps.logger.child({ component: 'inference' });
  const m = deps.metrics;
  const pool = new EndpointPool(
    urls.map((u) => new OllamaProvider(u.replace(/\/$/, ''))),
    DEFAULT_COOLDOWN,
    {
      onFailure: (endpoint, failure) => m?.inferenceErrors.inc({ endpoint, failure }),
      onCooldown: (endpoint, ms, why) => {
        m?.inferenceCooldowns.inc({ endpoint });
        log.warn({ endpoint, cooldownMs: ms, why }, 'inference endpoint cools down');
      },
    },
  );
  const slots = new SlotQueue(deps.redis, slotQueueKeys(deps.prefix), { slots: config.inference.slots, ...DEFAULT_SLOT_SETTINGS });
  const router = new InferenceRouter(
    pool,
    slots,
    {
      models: { light: config.inference.lightModel, heavy: config.inference.heavyModel },
      firstChunkTimeoutMs: config.inference.firstTokenTimeoutMs,
    },
    {
      requestWaited: (route, ms) => m?.inferenceWait.observe({ route }, ms / 1000),
      requestEnded: (endpoint, outcome, usage) => {
        m?.inferenceRequests.inc({ endpoint, outcome });
        m?.inferenceTokens.inc({ endpoint, kind: 'prompt' }, usage.promptTokens);
        m?.inferenceTokens.inc({ endpoint, kind: 'completion' }, usage.completionTokens);
        m?.inferenceGpuSeconds.inc({ endpoint }, usage.gpuSeconds);
        if (usage.gpuSeconds > 0 && usage.completionTokens > 0)
          m?.inferenceTokensPerSecond.set({ endpoint }, usage.completionTokens / usage.gpuSeconds);
      },
    },
  );
  const tokenKeys = jobTokenKeys(deps.prefix);
  const tokens = new JobTokens(deps.redis, tokenKeys);
  const endpoint = new AgentEndpoint({
    router,
    tokens,
    jobs: deps.jobs,
    catalogue: deps.catalogue,
    ledger: new JobLedger(deps.redis, deps.keys),
    subscriber: deps.redis.duplicate(),
    revokedChannel: tokenKeys.revoked,
    logger: log,
  });
  const port = await endpoint.start(config.inference.port, config.inference.listenHost);
  const agentUrl = config.inference.agentUrl ?? (await defaultAgentUrl(config, log));

  const probe = async () => {
    await pool.probe(PROBE_TIMEOUT_MS);
    m?.inferenceQueueDepth.set(await slots.waiting());
    for (const e of pool.endpoints) {
      const route = Object.entries({ light: config.inference.lightModel, heavy: config.inference.heavyModel }).filter(
        ([, model]) => model && e.health && !e.health.models.some((x) => x === model || x === `${model}:latest`),
      );
      if (route.length)
        log.warn(
          { endpoint: e.provider.url, missing: route.map(([r, model]) => `${r}: ${model}`) },
          "an inference endpoint lacks a route's model (ollama pull it)",
        );
    }
  };
  void probe().catch((err: unknown) => log.warn({ err }, 'inference health check failed'));
  const timer = setInterval(() => void probe().catch((err: unknown) => log.warn({ err }, 'inference health check failed')), PROBE_EVERY_MS);
  timer.unref();
  log.info(
    {
      endpoints: pool.endpoints.map((e) => e.provider.url),
      slots: config.inference.slots,
      port,
      agentUrl,
      light: config.inference.lightModel,
      heavy: config.inference.heavyModel,
    },
    'inference is on',
  );

  return {
    router,
    tokens,
    gpuQueue: { entries: () => slots.board() },
    agentUrl,
    port,
    async stop() {
      clearInterval(timer);
      await endpoint.stop();
      slots.close();
    },
  };
}
