// One Switchboard dispatcher replica in a process of its own, configured from
// its environment exactly as `node dist/main.js` is, so that the benches can
// measure what it costs (CPU, RSS, event-loop delay) apart from the load.
//   BENCH_TIMINGS           JSON of SupervisorTimings to override (optional)
//   BENCH_SIMULATED_AGENTS  a Redis list key: agents are simulated (simulated-spawner.ts)
import { writeHeapSnapshot } from 'node:v8';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { createLogger } from '../src/observability/logger.js';
import { startDispatcher } from '../src/dispatcher.js';
import type { SupervisorTimings } from '../src/jobs/run/job-supervisor.js';
import { SimulatedSpawner } from './simulated-spawner.js';
import { ready, serveParent } from './child-ipc.js';
import { fullGc } from './support.js';

const config = loadConfig(process.env);
const timings = process.env.BENCH_TIMINGS ? (JSON.parse(process.env.BENCH_TIMINGS) as Partial<SupervisorTimings>) : {};
const simulatedList = process.env.BENCH_SIMULATED_AGENTS;
const spawnerRedis = simulatedList ? new Redis(config.redis.url) : undefined;
const spawner = spawnerRedis && simulatedList ? new SimulatedSpawner(spawnerRedis, simulatedList) : undefined;

const dispatcher = await startDispatcher(config, { logger: createLogger(config.logLevel), timings, ...(spawner ? { spawner } : {}) });
serveParent({
  // Investigation only (BENCH_SCALE_SNAPSHOT=1): where the heap goes.
  heapSnapshot: (m) => writeHeapSnapshot((m as { path?: string }).path),
  /** What is live: a full GC, then the memory figures. */
  gc: () => {
    fullGc();
    const m = process.memoryUsage();
    return { rssBytes: m.rss, heapUsedBytes: m.heapUsed };
  },
  stop: async () => {
    await dispatcher.stop();
    spawnerRedis?.disconnect();
  },
});
ready({ port: config.port });
