// Inference through the router (src/inference) against the Ollama double, with
// the double as the baseline, in the same run:
//  1. overhead: one client, sequential streamed chats — time per request and
//     per token through the agents' endpoint (INFERENCE_PORT, per-job token,
//     Redis slot queue) vs straight to the double;
//  2. contention: 32 concurrent agent streams, each a job asking REQUESTS
//     chats in a row, on a double with 2 slots (OLLAMA_NUM_PARALLEL=2), a
//     fixed token rate and a bounded queue (OLLAMA_MAX_QUEUE), once as a free-for-all
//     straight to the double (a 503 is retried after a pause, as clients do),
//     once through the router (OLLAMA_SLOTS=2). Figures: 503s, and the max/min
//     ratio of per-job waiting time (request sent → first token, summed per job).
// Both phases use the official `ollama` client, as agents do.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Ollama } from 'ollama';
import { loadConfig } from '../src/config/env.js';
import { parseCatalogue } from '../src/config/catalogue-parse.js';
import { keys as keysFor } from '../src/domain/keys.js';
import { newJob } from '../src/domain/job.js';
import { newJobId } from '../src/domain/job-id.js';
import { JobStore } from '../src/state/job-store.js';
import { silentLogger } from '../src/observability/logger.js';
import { inferenceEnv } from '../src/jobs/run/agent-spec.js';
import { startInference } from '../src/inference/index.js';
import { OllamaDouble } from '../tests/support/ollama-double/index.js';
import { median, nowMs, sleep, type Row } from './support.js';

const MODEL = 'qwen2.5-coder:7b';
const AGENTS = Number(process.env.BENCH_INFERENCE_AGENTS ?? 32);
const REQUESTS = Number(process.env.BENCH_INFERENCE_REQUESTS ?? 4);
const SLOTS = 2;
const TOKENS_PER_S = 400;
const REPLY_TOKENS = 40;
/** The double's own queue beyond its slots (Ollama's OLLAMA_MAX_QUEUE, set low as on a small box). */
const MAX_QUEUE = 8;
const RETRY_AFTER_503_MS = 100;
const OVERHEAD_RUNS = 3;
const OVERHEAD_REQUESTS = 20;
export const WAIT_RATIO_TARGET = 1.5;

const REPLY = Array.from({ length: REPLY_TOKENS }, (_, i) => `t${i}`).join(' ');

interface Timing {
  totalMs: number;
  firstTokenMs: number;
  /** Mean time between tokens after the first. */
  perTokenMs: number;
}

async function timedChat(client: Ollama): Promise<Timing> {
  const t0 = nowMs();
  let first = 0;
  let last = 0;
  let tokens = 0;
  for await (const part of await client.chat({ model: MODEL, messages: [{ role: 'user', content: 'go' }], stream: true })) {
    const t = nowMs();
    if (!part.done) {
      if (tokens === 0) first = t;
      last = t;
      tokens += 1;
    }
  }
  return { totalMs: nowMs() - t0, firstTokenMs: first - t0, perTokenMs: tokens > 1 ? (last - first) / (tokens - 1) : 0 };
}

/** Each agent asks REQUESTS chats in a row; returns per-job waiting (ms) and the 503s seen. */
async function contend(hosts: string[]): Promise<{ waits: number[]; busy: number; wallMs: number }> {
  let busy = 0;
  const t0 = nowMs();
  const waits = await Promise.all(
    hosts.map(async (host) => {
      const client = new Ollama({ host });
      let waited = 0;
      for (let r = 0; r < REQUESTS; r++) {
        const sent = nowMs();
        for (;;) {
          try {
            const t = await timedChat(client);
            waited += nowMs() - sent - (t.totalMs - t.firstTokenMs);
            break;
          } catch (err) {
            if ((err as { status_code?: number }).status_code !== 503) throw err;
            busy += 1;
            await sleep(RETRY_AFTER_503_MS);
          }
        }
      }
      return waited;
    }),
  );
  return { waits, busy, wallMs: nowMs() - t0 };
}

const ratio = (xs: number[]) => Math.max(...xs) / Math.max(1, Math.min(...xs));

export async function benchInference(redisUrl: string): Promise<Row[]> {
  const prefix = `bench:inference:${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(redisUrl);
  const store = new JobStore(redis, keysFor(prefix));
  const double = await OllamaDouble.start({ parallel: SLOTS, maxQueue: MAX_QUEUE, tokensPerSecond: TOKENS_PER_S, defaultReply: REPLY });
  const catalogue = parseCatalogue(
    `projects:\n  bench: { repo: https://example.com/bench.git, agent: { backend: ollama, model: ${MODEL} } }\n`,
    'bench',
  );
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const base = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_APP_TOKEN: 'xapp-bench',
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    OLLAMA_URL: double.url,
    OLLAMA_SLOTS: String(SLOTS),
    INFERENCE_PORT: String(port),
    INFERENCE_LISTEN_HOST: '127.0.0.1',
    INFERENCE_AGENT_URL: base,
    INFERENCE_HEAVY_MODEL: MODEL,
  });
  const inference = (await startInference(config, {
    redis,
    keys: keysFor(prefix),
    prefix,
    jobs: store,
    catalogue: () => catalogue,
    logger: silentLogger,
  }))!;
  const jobHost = async (): Promise<string> => {
    const id = newJobId();
    await store.save({
      ...newJob({ id, project: 'bench', issue: 1, request: 'bench', channel: 'C0BENCH', user: 'U0BENCH', createdAt: Date.now() }),
      state: 'running',
    });
    return inferenceEnv(base, await inference.tokens.issue(id, 3600)).OLLAMA_HOST!;
  };

  try {
    // 1. Overhead, one client at a time.
    const viaHost = await jobHost();
    const direct = new Ollama({ host: double.url });
    const routed = new Ollama({ host: viaHost });
    await timedChat(direct);
    await timedChat(routed);
    const runs: { direct: Timing[]; routed: Timing[] }[] = [];
    for (let run = 0; run < OVERHEAD_RUNS; run++) {
      const r = { direct: [] as Timing[], routed: [] as Timing[] };
      for (let i = 0; i < OVERHEAD_REQUESTS; i++) {
        r.direct.push(await timedChat(direct));
        r.routed.push(await timedChat(routed));
      }
      runs.push(r);
    }
    const med = (pick: (r: (typeof runs)[number]) => Timing[], f: (t: Timing) => number) => median(runs.map((r) => median(pick(r).map(f))));
    const reqDirect = med(
      (r) => r.direct,
      (t) => t.totalMs,
    );
    const reqRouted = med(
      (r) => r.routed,
      (t) => t.totalMs,
    );
    const firstDirect = med(
      (r) => r.direct,
      (t) => t.firstTokenMs,
    );
    const firstRouted = med(
      (r) => r.routed,
      (t) => t.firstTokenMs,
    );
    const tokDirect = med(
      (r) => r.direct,
      (t) => t.perTokenMs,
    );
    const tokRouted = med(
      (r) => r.routed,
      (t) => t.perTokenMs,
    );

    // 2. Contention: a free-for-all straight to the double, then through the router.
    const free = await contend(Array.from({ length: AGENTS }, () => double.url));
    const before503 = double.stats.busy503;
    const hosts = await Promise.all(Array.from({ length: AGENTS }, () => jobHost()));
    const maxInFlightBefore = double.load.maxInFlight;
    const routedRun = await contend(hosts);
    const routed503 = double.stats.busy503 - before503;

    const note = (xs: number[]) =>
      `min ${Math.round(Math.min(...xs))} ms, median ${Math.round(median(xs))} ms, max ${Math.round(Math.max(...xs))} ms`;
    return [
      {
        bench: 'inference',
        metric: 'latency per request, 1 client',
        ours: reqRouted,
        baseline: reqDirect,
        unit: 'ms',
        ratio: reqRouted / reqDirect,
        note: `added per request: ${(reqRouted - reqDirect).toFixed(2)} ms (time to first token +${(firstRouted - firstDirect).toFixed(2)} ms); ${REPLY_TOKENS} tokens at ${TOKENS_PER_S}/s; medians of ${OVERHEAD_RUNS}×${OVERHEAD_REQUESTS}`,
      },
      {
        bench: 'inference',
        metric: 'time per token, 1 client',
        ours: tokRouted,
        baseline: tokDirect,
        unit: 'ms',
        ratio: tokRouted / tokDirect,
        note: `added per token: ${(tokRouted - tokDirect).toFixed(3)} ms`,
      },
      {
        bench: 'inference',
        metric: `503s, ${AGENTS} agents × ${REQUESTS} chats`,
        ours: routed503,
        baseline: free.busy,
        unit: 'count',
        ratio: free.busy === 0 ? 0 : routed503 / free.busy,
        target: 'router = 0',
        pass: routed503 === 0,
        note: `double: ${SLOTS} slots, queue ${MAX_QUEUE}; wall time free-for-all ${(free.wallMs / 1000).toFixed(1)} s, router ${(routedRun.wallMs / 1000).toFixed(1)} s; max generating at once through the router ${double.load.maxInFlight} (before: ${maxInFlightBefore})`,
      },
      {
        bench: 'inference',
        metric: 'per-job wait, max/min',
        ours: ratio(routedRun.waits),
        baseline: ratio(free.waits),
        unit: 'ratio',
        ratio: ratio(routedRun.waits) / ratio(free.waits),
        target: `router ≤ ${WAIT_RATIO_TARGET}`,
        pass: ratio(routedRun.waits) <= WAIT_RATIO_TARGET,
        note: `per-job waiting through the router: ${note(routedRun.waits)}; free-for-all: ${note(free.waits)}`,
      },
    ];
  } finally {
    await inference.stop();
    await double.close();
    const found = await redis.keys(`${prefix}*`);
    if (found.length) await redis.del(...found);
    redis.disconnect();
  }
}
