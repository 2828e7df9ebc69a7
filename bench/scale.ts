// Scale: 1,000 jobs tracked at once by one dispatcher (its own process), their
// agents simulated by AGENT_PROCESSES processes that each write the events of
// many agents to Redis (one event every ~2 s per agent: ~500 events/s). The
// jobs come in through Slack as people ask (HTTP mode); Slack's tiers hold
// for chat.update (one workspace: its 50 updates a minute are shared by all
// 1,000 status messages), the calls a job start makes (thread link, names,
// reactions) are not limited, so that 1,000 jobs start in seconds.
//
// Figures over a WINDOW_S window once every job runs: the dispatcher's RSS
// (goal < 200 MB) and its CPU per 1,000 events. Baseline, same run, same
// streams: a bare blocking XREAD loop (bare-reader-process.ts, 100 streams per
// connection, JSON.parse and nothing else).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SlackEmulator } from '../tests/support/slack-emulator/index.js';
import { keys as makeKeys } from '../src/domain/keys.js';
import { JobStore } from '../src/state/job-store.js';
import { deleteKeys } from './ack.js';
import { METHODS, UNLIMITED, unlimitedSlackEnv } from './relay-latency.js';
import { BenchChild, httpDispatcherEnv, freePort, nowMs, sleep, type ProcessUsage, type Row } from './support.js';

const JOBS = Number(process.env.BENCH_SCALE_JOBS ?? 1000);
const AGENT_PROCESSES = 3;
const EVENT_EVERY_MS = 2000;
const WINDOW_S = Number(process.env.BENCH_SCALE_WINDOW_S ?? 30);
const WARM_S = 5;
const START_TIMEOUT_S = 150;
export const SCALE_RSS_TARGET_MB = 200;
const MB = 1024 * 1024;

interface SimCount {
  jobs: string[];
  written: number;
}

export async function benchScale(redisUrl: string): Promise<Row[]> {
  const emu = await SlackEmulator.start({
    rateLimits: Object.fromEntries(METHODS.filter((m) => m !== 'chat.update').map((m) => [m, UNLIMITED])),
  });
  const run = randomBytes(3).toString('hex');
  const prefix = `sbbench:scale:${run}:`;
  const startedList = `${prefix}bench:started`;
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-scale-'));
  const projectsFile = join(dir, 'projects.yml');
  writeFileSync(
    projectsFile,
    'projects:\n  demo:\n    repo: https://git.example.invalid/acme/demo.git\n    agent:\n      command: ["true"]\n',
  );
  const port = await freePort();
  const children: BenchChild[] = [];
  const sims: BenchChild[] = [];
  const redis = new Redis(redisUrl);
  let jobIds: string[] = [];
  try {
    const ours = (
      await BenchChild.start(
        new URL('./dispatcher-process.js', import.meta.url),
        'switchboard (1,000 simulated agents)',
        {
          ...httpDispatcherEnv(emu, { port, redisUrl, prefix, projectsFile, maxConcurrentJobs: JOBS }),
          BENCH_SIMULATED_AGENTS: startedList,
          ...unlimitedSlackEnv(['chat.update']),
        },
        60_000,
        // Investigation: BENCH_SCALE_PROFILE=<dir> writes the dispatcher's CPU profile there.
        // BENCH_SCALE_NODE_FLAGS: V8 flags for the dispatcher, to try heap settings (space-separated).
        [
          ...(process.env.BENCH_SCALE_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SCALE_PROFILE}`] : []),
          ...(process.env.BENCH_SCALE_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
        ],
      )
    ).child;
    children.push(ours);
    for (let i = 0; i < AGENT_PROCESSES; i++) {
      const sim = (
        await BenchChild.start(new URL('./agent-simulator-process.js', import.meta.url), `agent simulator ${i}`, {
          REDIS_URL: redisUrl,
          REDIS_PREFIX: prefix,
          STARTED_LIST: startedList,
          EVENT_EVERY_MS: String(EVENT_EVERY_MS),
        })
      ).child;
      sims.push(sim);
      children.push(sim);
    }
    const bare = (
      await BenchChild.start(new URL('./bare-reader-process.js', import.meta.url), 'bare XREAD reader', { REDIS_URL: redisUrl })
    ).child;
    children.push(bare);
    emu.setRequestUrl(`http://127.0.0.1:${port}/slack/events`);
    await sleep(1000);
    const idle = await ours.usage();
    const bareIdle = await bare.usage();

    // 1,000 people ask, 10 requests in flight at a time.
    const t0 = nowMs();
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < JOBS) {
          const k = next++;
          await emu.userSays({
            channel: `C0SCL${run.toUpperCase()}${String(k).padStart(4, '0')}`,
            user: 'U0ALICE',
            text: `fix #${k + 1} in demo`,
          });
        }
      }),
    );
    const asked = nowMs() - t0;
    const counts = async () => Promise.all(sims.map((s) => s.request<SimCount>({ type: 'count' })));
    // Every job should be running within a minute or two; if some never start, the window measures the rest and says so.
    const deadline = Date.now() + START_TIMEOUT_S * 1000;
    for (;;) {
      jobIds = (await counts()).flatMap((c) => c.jobs);
      if (jobIds.length >= JOBS || Date.now() > deadline) break;
      await sleep(500);
    }
    const allRunning = nowMs() - t0;
    // Where BullMQ has the jobs (its keys under the dispatcher's queue prefix).
    const q = `${makeKeys(prefix).queuePrefix}:jobs:`;
    const queueState = `BullMQ: ${await redis.llen(`${q}active`)} active, ${await redis.llen(`${q}wait`)} wait, ${await redis.zcard(`${q}prioritized`)} prioritized, ${await redis.zcard(`${q}delayed`)} delayed`;
    await bare.request({ type: 'watch', keys: jobIds.map((id) => makeKeys(prefix).jobEvents(id)) });
    for (const s of sims) await s.request({ type: 'emit', on: true });
    await sleep(WARM_S * 1000);

    // The window.
    const written = async () => (await counts()).reduce((n, c) => n + c.written, 0);
    const commandStats = async () =>
      new Map([...(await redis.info('commandstats')).matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)].map((m) => [m[1] as string, Number(m[2])]));
    const c0 = await commandStats();
    const [u0, b0, w0] = [await ours.usage(), await bare.usage(), await written()];
    let maxRss = u0.rssBytes;
    let bareMaxRss = b0.rssBytes;
    const until = Date.now() + WINDOW_S * 1000;
    let loopP99 = 0;
    const trace: number[] = [];
    while (Date.now() < until) {
      await sleep(2000);
      const [u, b] = [await ours.usage(), await bare.usage()];
      trace.push(u.rssBytes / MB);
      maxRss = Math.max(maxRss, u.rssBytes);
      bareMaxRss = Math.max(bareMaxRss, b.rssBytes);
      loopP99 = Math.max(loopP99, u.loopDelayP99Ms);
    }
    const [u1, b1, w1]: [ProcessUsage, ProcessUsage, number] = [await ours.usage(), await bare.usage(), await written()];
    if (process.env.BENCH_SCALE_SNAPSHOT)
      console.error(
        `heap snapshot: ${await ours.request<string>({ type: 'heapSnapshot', path: process.env.BENCH_SCALE_SNAPSHOT }, 300_000)}`,
      );
    for (const s of sims) await s.request({ type: 'emit', on: false });
    const events = w1 - w0;
    const c1 = await commandStats();
    // Redis commands per agent event over the window, by everyone (dispatcher, simulators, bare reader), busiest first.
    const perEvent = [...c1.entries()]
      .map(([cmd, n]) => [cmd, (n - (c0.get(cmd) ?? 0)) / events] as const)
      .filter(([, r]) => r >= 0.05)
      .sort((a, b) => b[1] - a[1])
      .map(([cmd, r]) => `${cmd} ${r.toFixed(2)}`)
      .join(', ');
    const live = await ours.request<{ rssBytes: number; heapUsedBytes: number }>({ type: 'gc' });

    // Did the dispatcher keep up? Each job's record cursor against its stream's last entry.
    await sleep(3000);
    const store = new JobStore(redis, makeKeys(prefix));
    let behind = 0;
    for (const id of jobIds) {
      const [last] = (await redis.xrevrange(makeKeys(prefix).jobEvents(id), '+', '-', 'COUNT', 1)) as [string, string[]][];
      const job = await store.get(id);
      if (last && job?.cursor !== last[0]) behind++;
    }
    const clients = /connected_clients:(\d+)/.exec(await redis.info('clients'))?.[1] ?? '?';
    const updates = emu.calls.filter((c) => c.method === 'chat.update').length;

    const cpuPer1000 = ((u1.cpuMs - u0.cpuMs) / events) * 1000;
    const bareCpuPer1000 = ((b1.cpuMs - b0.cpuMs) / events) * 1000;
    const rows: Row[] = [];
    if (jobIds.length < JOBS) {
      rows.push({
        bench: 'scale',
        metric: 'jobs whose agent started',
        ours: jobIds.length,
        baseline: JOBS,
        unit: 'jobs',
        ratio: jobIds.length / JOBS,
        target: `all ${JOBS}`,
        pass: false,
        note: `${JOBS - jobIds.length} jobs had no agent ${START_TIMEOUT_S} s after their request (${queueState}); the figures below are for the ${jobIds.length} that run`,
      });
    }
    return [
      ...rows,
      {
        bench: 'scale',
        metric: `RSS with ${JOBS.toLocaleString('en-US')} jobs tracked`,
        ours: maxRss / MB,
        baseline: bareMaxRss / MB,
        unit: 'MB',
        ratio: maxRss / bareMaxRss,
        target: `< ${SCALE_RSS_TARGET_MB} MB`,
        pass: maxRss / MB < SCALE_RSS_TARGET_MB,
        note: `${JOBS} jobs, ${AGENT_PROCESSES} agent-simulating processes, ~${((events / WINDOW_S) | 0).toLocaleString('en-US')} events/s over ${WINDOW_S} s (${events.toLocaleString('en-US')} events); RSS idle before the jobs ${(idle.rssBytes / MB).toFixed(0)} MB (bare ${(bareIdle.rssBytes / MB).toFixed(0)} MB), heap used ${(u1.heapUsedBytes / MB).toFixed(0)} of ${(u1.heapTotalBytes / MB).toFixed(0)} MB, external ${(u1.externalBytes / MB).toFixed(0)} MB, live heap after a full GC ${(live.heapUsedBytes / MB).toFixed(0)} MB (RSS then ${(live.rssBytes / MB).toFixed(0)} MB); RSS every 2 s [${trace.map((x) => x.toFixed(0)).join(', ')}] MB; ${JOBS} requests sent in ${(asked / 1000).toFixed(1)} s, ${jobIds.length} agents started ${(allRunning / 1000).toFixed(1)} s after the first request (${queueState}); Redis clients ${clients}`,
      },
      {
        bench: 'scale',
        metric: 'CPU per 1,000 agent events',
        ours: cpuPer1000,
        baseline: bareCpuPer1000,
        unit: 'ms',
        ratio: cpuPer1000 / bareCpuPer1000,
        note: `information (no goal set): dispatcher CPU ${(((u1.cpuMs - u0.cpuMs) / (WINDOW_S * 1000)) * 100).toFixed(0)} % of a core over the window, bare reader ${(((b1.cpuMs - b0.cpuMs) / (WINDOW_S * 1000)) * 100).toFixed(0)} %; dispatcher event-loop delay p99 up to ${loopP99.toFixed(0)} ms; jobs whose record lagged its stream 3 s after the agents paused: ${behind}; chat.update calls in the run ${updates} (Slack's tier for one workspace); Redis commands per event (all clients; the simulators' XADD and the bare reader's XREAD included): ${perEvent}`,
      },
    ];
  } finally {
    for (const s of sims) await s.stop();
    for (const c of children) if (!sims.includes(c)) await c.stop(60_000);
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
    // The agents' Redis users, then every key of the run.
    for (const id of jobIds) await redis.call('ACL', 'DELUSER', `job-${id}`).catch(() => undefined);
    redis.disconnect();
    await deleteKeys(redisUrl, prefix);
  }
}
