// A dispatcher-like process for tests: its own router and Redis connection
// (from dist/, so run `npm run build` first) sending REQUESTS chats, JOBS at a
// time, to OLLAMA_URL through the shared slot queue, then printing one JSON
// line and exiting. Env: OLLAMA_URL, REDIS_URL, PREFIX, SLOTS, JOBS, REQUESTS, NAME.
import process from 'node:process';
import { Redis } from 'ioredis';
import { OllamaProvider } from '../../../dist/inference/ollama-provider.js';
import { EndpointPool } from '../../../dist/inference/endpoint-pool.js';
import { SlotQueue, slotQueueKeys } from '../../../dist/inference/slot-queue.js';
import { InferenceRouter } from '../../../dist/inference/router.js';

const env = process.env;
const redis = new Redis(env.REDIS_URL);
const queue = new SlotQueue(redis, slotQueueKeys(env.PREFIX), {
  slots: Number(env.SLOTS),
  leaseMs: 30_000,
  ticketTtlMs: 10_000,
  pollMs: 500,
});
const router = new InferenceRouter(new EndpointPool([new OllamaProvider(env.OLLAMA_URL)]), queue, {
  models: { heavy: 'qwen2.5-coder:7b' },
  firstChunkTimeoutMs: 30_000,
});

let completed = 0;
async function job(i) {
  for (let r = 0; r < Number(env.REQUESTS); r++) {
    const s = await router.stream({
      route: 'heavy',
      kind: 'chat',
      body: { messages: [] },
      tenant: `${env.NAME}-${i}`,
      weight: 1,
      signal: new globalThis.AbortController().signal,
    });
    for await (const _ of s.chunks) void _;
    completed += 1;
  }
}
await Promise.all(Array.from({ length: Number(env.JOBS) }, (_, i) => job(i)));
process.stdout.write(`${JSON.stringify({ name: env.NAME, completed })}\n`);
queue.close();
redis.disconnect();
