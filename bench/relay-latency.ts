// Relay latency: from an agent's XADD to the Slack call that carries the event,
// with a budget that never holds a call back (the emulator and the
// dispatcher's SLACK_METHOD_BUDGETS raised far above Slack's tiers).
//
// Ours: a dispatcher in its own process (production timings: status every 3 s
// at most, 2 s blocking reads) relays JOBS jobs whose agents are simulated
// here (simulated-spawner.ts, simulated-agents.ts). Baseline, same run, same
// Redis: a bare blocking XREAD loop in its own process (bare-relay-process.ts)
// that sends one plain chat.update per progress event. Both get one progress
// event per job every 3.3–4.3 s (longer than the status interval, so the
// throttle lets each one through at once), spread at random, at the same time.
// Latency = the emulator's arrival time of the first chat.update showing the
// event − the time just before its XADD was sent (millisecond resolution: the
// emulator stamps calls with Date.now()).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SlackEmulator } from '../tests/support/slack-emulator/index.js';
import { EVENT_SCHEMA_VERSION } from '../src/domain/events.js';
import { SimulatedAgents } from './simulated-agents.js';
import { deleteKeys } from './ack.js';
import { BenchChild, httpDispatcherEnv, epochMs, freePort, percentile, prng, sleep, type Row } from './support.js';

const JOBS = Number(process.env.BENCH_RELAY_JOBS ?? 25);
const ROUNDS = Number(process.env.BENCH_RELAY_ROUNDS ?? 6);
export const RELAY_P99_TARGET_RATIO = 2;
/** Far above anything this bench sends: the budget never holds a call back. */
export const UNLIMITED = 1_000_000;
export const METHODS = ['chat.update', 'chat.postMessage', 'chat.getPermalink', 'users.info', 'conversations.info', 'reactions.add'];

/** The dispatcher's side of an unlimited budget; `except` keeps Slack's tier for those methods. */
export const unlimitedSlackEnv = (except: string[] = []): Record<string, string> => ({
  SLACK_METHOD_BUDGETS: METHODS.filter((m) => m !== 'chat.postMessage' && !except.includes(m))
    .map((m) => `${m}=${UNLIMITED}`)
    .join(','),
  SLACK_CHANNEL_POST_BUDGET: String(UNLIMITED),
});

export async function waitUntil(probe: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const marker = (side: 'o' | 'b', k: number, r: number) => `mk-${side}${k}r${r}-mk`;

export async function benchRelayLatency(redisUrl: string): Promise<Row[]> {
  const emu = await SlackEmulator.start({ rateLimits: Object.fromEntries(METHODS.map((m) => [m, UNLIMITED])) });
  const run = randomBytes(3).toString('hex');
  const prefix = `sbbench:relay:${run}:`;
  const startedList = `${prefix}bench:started`;
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-relay-'));
  const projectsFile = join(dir, 'projects.yml');
  writeFileSync(
    projectsFile,
    'projects:\n  demo:\n    repo: https://git.example.invalid/acme/demo.git\n    agent:\n      command: ["true"]\n',
  );
  const port = await freePort();
  const children: BenchChild[] = [];
  const redis = new Redis(redisUrl);
  const agents = new SimulatedAgents(redis, new Redis(redisUrl), prefix, startedList);
  try {
    const ours = (
      await BenchChild.start(new URL('./dispatcher-process.js', import.meta.url), 'switchboard (simulated agents)', {
        ...httpDispatcherEnv(emu, { port, redisUrl, prefix, projectsFile, maxConcurrentJobs: JOBS }),
        BENCH_SIMULATED_AGENTS: startedList,
        // Only so that the simulated agents' end does not wait for an exit that never comes.
        BENCH_TIMINGS: JSON.stringify({ exitWaitMs: 200 }),
        ...unlimitedSlackEnv(),
      })
    ).child;
    children.push(ours);
    const bare = (
      await BenchChild.start(new URL('./bare-relay-process.js', import.meta.url), 'bare XREAD loop', {
        REDIS_URL: redisUrl,
        SLACK_API_URL: emu.apiUrl,
        SLACK_BOT_TOKEN: emu.botToken,
      })
    ).child;
    children.push(bare);
    emu.setRequestUrl(`http://127.0.0.1:${port}/slack/events`);

    // Our jobs, through Slack as people ask; the simulators take them up as the dispatcher starts them.
    const taking = agents.takeJobs();
    const requests = [];
    for (let k = 0; k < JOBS; k++)
      requests.push(await emu.userSays({ channel: `C0RLY${run.toUpperCase()}${k}`, user: 'U0ALICE', text: `fix #${k + 1} in demo` }));
    await waitUntil(() => agents.jobs.size === JOBS, `${JOBS} simulated agents to be started`, 60_000);
    const ourJobs = [...agents.jobs.values()].sort((a, b) => a.channel.localeCompare(b.channel));

    // The baseline's status messages and streams.
    const bareStreams = [];
    for (let k = 0; k < JOBS; k++) {
      const channel = `C0RLB${run.toUpperCase()}${k}`;
      const posted = (await (
        await fetch(`${emu.apiUrl}chat.postMessage`, {
          method: 'POST',
          headers: { authorization: `Bearer ${emu.botToken}`, 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify({ channel, text: 'starting' }),
        })
      ).json()) as { ts: string };
      bareStreams.push({ key: `${prefix}bare:${k}:events`, channel, ts: posted.ts });
    }
    await bare.request({ type: 'watch', streams: bareStreams });
    // Past the status interval of the jobs' first updates (starting, then running, which may wait 3 s for it), so
    // that the first progress event finds its job's throttle open too.
    await sleep(7000);

    const sentAt = new Map<string, number>();
    const rand = prng(99);
    const drive = async (emit: (r: number) => Promise<void>, offset: number, gaps: number[]) => {
      await sleep(offset);
      for (let r = 0; r < ROUNDS; r++) {
        await emit(r);
        await sleep(gaps[r] ?? 0);
      }
    };
    const plan = () => ({ offset: rand() * 3800, gaps: Array.from({ length: ROUNDS }, () => 3300 + rand() * 1000) });
    const progress = (m: string, r: number) => ({ type: 'progress' as const, step: r + 1, total: ROUNDS + 1, name: m });
    const started = Date.now();
    await Promise.all([
      ...ourJobs.map((job, k) => {
        const p = plan();
        return drive(
          async (r) => {
            const m = marker('o', k, r);
            sentAt.set(m, epochMs());
            await agents.emit(job, progress(m, r));
          },
          p.offset,
          p.gaps,
        );
      }),
      ...bareStreams.map((s, k) => {
        const p = plan();
        let seq = 0;
        return drive(
          async (r) => {
            const m = marker('b', k, r);
            const doc = JSON.stringify({ ...progress(m, r), v: EVENT_SCHEMA_VERSION, jobId: `bare${k}`, seq: seq++, ts: Date.now() });
            sentAt.set(m, epochMs());
            await redis.xadd(s.key, 'MAXLEN', '~', 1000, '*', 'e', doc);
          },
          p.offset,
          p.gaps,
        );
      }),
    ]);
    await sleep(3000);

    // When each event first reached Slack.
    const arrived = new Map<string, number>();
    for (const c of emu.calls) {
      if (c.method !== 'chat.update' || !c.ok || c.at < started) continue;
      for (const m of JSON.stringify(c.args).matchAll(/mk-[ob]\d+r\d+-mk/g)) if (!arrived.has(m[0])) arrived.set(m[0], c.at);
    }
    const lat = { o: [] as number[], b: [] as number[] };
    let missing = { o: 0, b: 0 };
    for (const [m, t] of sentAt) {
      const side = m[3] as 'o' | 'b';
      const at = arrived.get(m);
      if (at === undefined) missing = { ...missing, [side]: missing[side] + 1 };
      else lat[side].push(at - t);
    }
    const usage = await ours.usage();
    if (process.env.BENCH_VERBOSE === '1') {
      for (const [m, t] of sentAt)
        if (m.includes('-o') && (arrived.get(m) ?? Infinity) - t > 100)
          console.error(`SLOW ${m} sent ${t.toFixed(1)} arrived ${arrived.get(m)}`);
      console.error(
        `relay ours sorted: ${[...lat.o]
          .sort((a, b) => a - b)
          .map((x) => x.toFixed(0))
          .join(' ')}`,
      );
      console.error(
        `relay bare sorted: ${[...lat.b]
          .sort((a, b) => a - b)
          .map((x) => x.toFixed(0))
          .join(' ')}`,
      );
    }

    // Our jobs end, so the dispatcher stops with nothing in hand.
    for (const job of ourJobs) await agents.finish(job, { type: 'done', summary: 'simulated' });
    await emu
      .waitFor(
        () =>
          emu.calls.filter((c) => c.method === 'chat.postMessage' && c.ok && /simulated/.test(JSON.stringify(c.args))).length >= JOBS ||
          undefined,
        {
          what: 'every result',
          timeoutMs: 30_000,
        },
      )
      .catch(() => undefined);
    agents.close();
    await taking;

    const rows: Row[] = [];
    for (const p of [50, 99] as const) {
      const o = percentile(lat.o, p);
      const b = percentile(lat.b, p);
      rows.push({
        bench: 'relay',
        metric: `XADD → chat.update, p${p}`,
        ours: o,
        baseline: b,
        unit: 'ms',
        ratio: o / b,
        ...(p === 99 ? { target: `ratio ≤ ${RELAY_P99_TARGET_RATIO}`, pass: o / b <= RELAY_P99_TARGET_RATIO } : {}),
        ...(p === 99
          ? {
              note: `${JOBS} jobs × ${ROUNDS} progress events each side (${lat.o.length} vs ${lat.b.length} carried; not carried by an update of their own: ${missing.o} vs ${missing.b}); p90 ${percentile(lat.o, 90).toFixed(1)} vs ${percentile(lat.b, 90).toFixed(1)} ms, max ${percentile(lat.o, 100).toFixed(0)} vs ${percentile(lat.b, 100).toFixed(0)} ms; dispatcher event-loop delay p99 ${usage.loopDelayP99Ms.toFixed(1)} ms`,
            }
          : {}),
      });
    }
    return rows;
  } finally {
    agents.close();
    for (const c of children) await c.stop();
    redis.disconnect();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
    await deleteKeys(redisUrl, prefix);
  }
}
