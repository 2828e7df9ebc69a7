// One of a few processes that each simulate many agents (simulated-agents.ts):
// takes jobs as the dispatcher starts them and, once told to, writes each of
// its agents' events at about one every EVENT_EVERY_MS (pipelined per tick).
//   REDIS_URL, REDIS_PREFIX, STARTED_LIST, EVENT_EVERY_MS
import { Redis } from 'ioredis';
import { SimulatedAgents, plausibleEvent } from './simulated-agents.js';
import { prng } from './support.js';
import { ready, serveParent } from './child-ipc.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const everyMs = Number(process.env.EVENT_EVERY_MS ?? 2000);
const TICK_MS = 50;
const redis = new Redis(url);
const agents = new SimulatedAgents(redis, new Redis(url), process.env.REDIS_PREFIX ?? '', process.env.STARTED_LIST ?? '');
const rand = prng(process.pid);
const due = new Map<string, number>();
let ticker: NodeJS.Timeout | undefined;
let writing = false;

const taking = agents.takeJobs();

function tick(): void {
  if (writing) return; // Redis is behind: skip a tick rather than pile up
  const now = Date.now();
  const batch = [];
  for (const job of agents.jobs.values()) {
    const at = due.get(job.jobId) ?? now + rand() * everyMs;
    if (at <= now) {
      batch.push(agents.emit(job, plausibleEvent(rand, 1 + (job.seq % 7))));
      due.set(job.jobId, now + everyMs * (0.5 + rand()));
    } else due.set(job.jobId, at);
  }
  writing = true;
  void Promise.all(batch).finally(() => (writing = false));
}

serveParent({
  count: () => ({ jobs: [...agents.jobs.keys()], written: agents.written }),
  emit: (m) => {
    clearInterval(ticker);
    if ((m as { on?: boolean }).on) ticker = setInterval(tick, TICK_MS);
    return 'ok';
  },
  stop: async () => {
    clearInterval(ticker);
    agents.close();
    await taking;
    redis.disconnect();
  },
});
ready();
