// A dispatcher-like process for tests: its own SlackDelivery, its own Web API
// client and Redis connection (from dist/, so run `npm run build` first), that
// refreshes the status messages of JOBS jobs as fast as the shared budget
// allows for RUN_MS, then prints one JSON line and exits.
// Env: API_URL, TOKEN, REDIS_URL, PREFIX, WINDOW_MS, JOBS, RUN_MS, NAME.
import process from 'node:process';
import { Redis } from 'ioredis';
import { keys as keysFor } from '../../../dist/domain/keys.js';
import { silentLogger } from '../../../dist/observability/logger.js';
import { SlackDelivery, createDeliveryClient, defaultBudgetSettings } from '../../../dist/slack/delivery/index.js';

const env = process.env;
const jobs = Number(env.JOBS);
const runMs = Number(env.RUN_MS);
const redis = new Redis(env.REDIS_URL);
const delivery = new SlackDelivery({
  client: createDeliveryClient({ token: env.TOKEN, apiUrl: env.API_URL, timeoutMs: 5000 }),
  token: env.TOKEN,
  redis,
  keys: keysFor(env.PREFIX),
  budgets: defaultBudgetSettings({ windowMs: Number(env.WINDOW_MS) }),
  retries: 2,
  logger: silentLogger,
});
delivery.start();

let updates = 0;
async function job(i) {
  const channel = `C0${env.NAME}${String(i).padStart(3, '0')}`;
  const posted = await delivery.call({ method: 'chat.postMessage', args: { channel, text: 'starting' }, priority: 'post' });
  const ts = posted.result.ts;
  const end = Date.now() + runMs;
  for (let n = 1; Date.now() < end; n++) {
    const d = await delivery.call({
      method: 'chat.update',
      args: { channel, ts, text: `step ${n}` },
      priority: 'progress',
      coalesceKey: `status:${channel}`,
      statusOf: channel,
    });
    if (d.outcome === 'delivered') updates++;
  }
}

await Promise.all(Array.from({ length: jobs }, (_, i) => job(i)));
await delivery.close();
await redis.quit();
process.stdout.write(`${JSON.stringify({ name: env.NAME, updates })}\n`);
