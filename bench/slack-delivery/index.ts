// Slack delivery at workspace scale: 50 and 200 concurrent jobs, each emitting
// 5 agent events a second for 60 s, against the emulator at Slack's limits
// (Tier 3 chat.update: 50 a minute per workspace; chat.postMessage ~1 a second
// per channel) on a clock TIME_SCALE times faster. Switchboard (the real
// SlackDelivery, StatusThrottle and SlackJobNotifier) and a naive relay (one
// update per event, one shared WebClient with its defaults) run in the same
// run, each in a child process (relay-process.ts); the emulator here records
// every call. All figures are in Slack time (real time × TIME_SCALE).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { SlackEmulator, type RecordedCall } from '../../tests/support/slack-emulator/index.js';
import { sustainedPerWindow, defaultBudgetSettings } from '../../src/slack/delivery/budgets.js';
import type { Row } from '../support.js';

const TIME_SCALE = Number(process.env.BENCH_SLACK_TIME_SCALE ?? 5);
const JOB_COUNTS = (process.env.BENCH_SLACK_JOBS ?? '50,200').split(',').map(Number);
const RUN_S = 60;
const EVENTS_PER_S = 5;
/** Jobs start spread over this many seconds, as requests arrive. */
const START_SPREAD_S = 10;
/** JobSupervisor's default status interval. */
const BASE_INTERVAL_S = 3;
/** After the last job's done: how long a relay may take to deliver what is left before it is stopped. */
const DRAIN_S = { switchboard: 300, naive: 60 };
export const RESULT_P99_TARGET_S = 3;

interface JobLine {
  i: number;
  channel: string;
  statusTs: string;
  startAt: number;
  doneAt: number;
}

interface RunResult {
  jobs: JobLine[];
  calls: RecordedCall[];
  stoppedEarly: boolean;
  realMs: number;
  /** Event-loop delay of the relay process (real ms). */
  loopDelay: string;
}

const RELAY_SCRIPT = fileURLToPath(new URL('./relay-process.js', import.meta.url));

async function runRelay(mode: 'switchboard' | 'naive', jobs: number, redisUrl: string): Promise<RunResult> {
  const emu = await SlackEmulator.start({ timeScale: TIME_SCALE });
  const t0 = Date.now();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    MODE: mode,
    JOBS: String(jobs),
    RUN_MS: String((RUN_S * 1000) / TIME_SCALE),
    EVENT_MS: String(1000 / EVENTS_PER_S / TIME_SCALE),
    START_SPREAD_MS: String((START_SPREAD_S * 1000) / TIME_SCALE),
    WINDOW_MS: String(60_000 / TIME_SCALE),
    BASE_INTERVAL_MS: String((BASE_INTERVAL_S * 1000) / TIME_SCALE),
    API_URL: emu.apiUrl,
    TOKEN: emu.botToken,
    REDIS_URL: redisUrl,
    PREFIX: `bench:slack:${randomBytes(3).toString('hex')}:`,
  };
  const child = spawn(process.execPath, [RELAY_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: JobLine[] = [];
  let buf = '';
  let err = '';
  let loopDelay = 'unknown (stopped)';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, nl)) as JobLine | { end: true; loopDelayP99Ms: number; loopDelayMaxMs: number };
      buf = buf.slice(nl + 1);
      if ('i' in line) lines.push(line);
      else loopDelay = `${line.loopDelayP99Ms.toFixed(0)} ms p99, ${line.loopDelayMaxMs.toFixed(0)} ms max`;
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Every job is done by start spread + run length; then the relay gets its drain time.
  const deadline = t0 + ((START_SPREAD_S + RUN_S + DRAIN_S[mode]) * 1000) / TIME_SCALE + 2000;
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    exited,
    new Promise<'deadline'>((r) => (timer = setTimeout(() => r('deadline'), deadline - Date.now()))),
  ]);
  clearTimeout(timer);
  if (code === 'deadline') {
    child.kill('SIGKILL');
    await exited;
  } else if (code !== 0) {
    await emu.close();
    throw new Error(`the ${mode} relay exited with ${code}: ${err}`);
  }
  const calls = [...emu.calls];
  await emu.close();
  if (lines.length !== jobs) throw new Error(`the ${mode} relay finished ${lines.length} of ${jobs} jobs: ${err}`);
  return { jobs: lines, calls, stoppedEarly: code === 'deadline', realMs: Date.now() - t0, loopDelay };
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

interface Figures {
  rateLimited: number;
  chatUpdates: number;
  latencyS: number[];
  undelivered: number;
  stalenessS: number[];
  refreshesPerJob: number;
  finalsShown: number;
}

function analyse(r: RunResult): Figures {
  const byChannel = new Map<string, RecordedCall[]>();
  for (const c of r.calls) {
    const ch = String(c.args.channel ?? '');
    if (!byChannel.has(ch)) byChannel.set(ch, []);
    byChannel.get(ch)?.push(c);
  }
  const latencyS: number[] = [];
  const stalenessS: number[] = [];
  let undelivered = 0;
  let refreshes = 0;
  let finalsShown = 0;
  const eventMs = 1000 / EVENTS_PER_S / TIME_SCALE;
  for (const j of r.jobs) {
    const calls = byChannel.get(j.channel) ?? [];
    const result = calls.find((c) => c.ok && c.method === 'chat.postMessage' && c.args.thread_ts === j.statusTs);
    if (result) latencyS.push(((result.at - j.doneAt) * TIME_SCALE) / 1000);
    else undelivered += 1;
    // When the status message changed while the job ran: its post, then every accepted chat.update.
    const shown = calls
      .filter(
        (c) =>
          c.ok && ((c.method === 'chat.postMessage' && c.args.thread_ts === undefined) || c.method === 'chat.update') && c.at <= j.doneAt,
      )
      .map((c) => c.at);
    refreshes += Math.max(0, shown.length - 1);
    if (calls.some((c) => c.ok && c.method === 'chat.update' && /is done|done in/.test(String(c.args.text ?? '')))) finalsShown += 1;
    let k = 0;
    for (let t = j.startAt + eventMs; t < j.doneAt; t += eventMs) {
      while (k + 1 < shown.length && (shown[k + 1] as number) <= t) k++;
      const last = shown[k];
      if (last !== undefined && last <= t) stalenessS.push(((t - last) * TIME_SCALE) / 1000);
    }
  }
  return {
    rateLimited: r.calls.filter((c) => c.status === 429).length,
    chatUpdates: r.calls.filter((c) => c.method === 'chat.update').length,
    latencyS: [...latencyS, ...Array<number>(undelivered).fill(Infinity)],
    undelivered,
    stalenessS,
    refreshesPerJob: refreshes / r.jobs.length,
    finalsShown,
  };
}

export async function benchSlackDelivery(redisUrl: string): Promise<Row[]> {
  const rows: Row[] = [];
  const perMinute = sustainedPerWindow(defaultBudgetSettings({}), 'chat.update');
  for (const n of JOB_COUNTS) {
    const ours = await runRelay('switchboard', n, redisUrl);
    const naive = await runRelay('naive', n, redisUrl);
    const a = analyse(ours);
    const b = analyse(naive);
    const bound = (n * 60) / perMinute;
    const bench = `slack-delivery ×${n}`;
    const p = (xs: number[], q: number) => percentile(xs, q);
    const ratio = (x: number, y: number) => (y === 0 || !Number.isFinite(y) ? 0 : x / y);
    const scaleNote = `time scale ${TIME_SCALE}: Slack's 60 s = ${(60 / TIME_SCALE).toFixed(1)} s real; figures in Slack time`;
    rows.push(
      {
        bench,
        metric: '429 answers',
        ours: a.rateLimited,
        baseline: b.rateLimited,
        unit: 'calls',
        ratio: ratio(a.rateLimited, b.rateLimited),
        target: '0',
        pass: a.rateLimited === 0,
        note: `${scaleNote}; chat.update calls ${a.chatUpdates} vs naive ${b.chatUpdates}; run ${(ours.realMs / 1000).toFixed(1)} s vs ${(naive.realMs / 1000).toFixed(1)} s real${naive.stoppedEarly ? ` (naive stopped ${DRAIN_S.naive} s after the last done)` : ''}${ours.stoppedEarly ? ' (ours stopped at its drain deadline)' : ''}; relay event-loop delay (real): ours ${ours.loopDelay}, naive ${naive.loopDelay}`,
      },
      {
        bench,
        metric: 'result after done, p50',
        ours: p(a.latencyS, 50),
        baseline: p(b.latencyS, 50),
        unit: 's',
        ratio: ratio(p(a.latencyS, 50), p(b.latencyS, 50)),
      },
      {
        bench,
        metric: 'result after done, p99',
        ours: p(a.latencyS, 99),
        baseline: p(b.latencyS, 99),
        unit: 's',
        ratio: ratio(p(a.latencyS, 99), p(b.latencyS, 99)),
        target: `≤ ${RESULT_P99_TARGET_S} s`,
        pass: p(a.latencyS, 99) <= RESULT_P99_TARGET_S,
        note: `results not delivered before the relay was stopped: ours ${a.undelivered}, naive ${b.undelivered} (counted as Infinity); final status shown: ours ${a.finalsShown}/${n}, naive ${b.finalsShown}/${n}`,
      },
      {
        bench,
        metric: 'status staleness, p50',
        ours: p(a.stalenessS, 50),
        baseline: p(b.stalenessS, 50),
        unit: 's',
        ratio: ratio(p(a.stalenessS, 50), p(b.stalenessS, 50)),
      },
      {
        bench,
        metric: 'status staleness, p99',
        ours: p(a.stalenessS, 99),
        baseline: p(b.stalenessS, 99),
        unit: 's',
        ratio: ratio(p(a.stalenessS, 99), p(b.stalenessS, 99)),
        target: `≤ fair share ${bound.toFixed(0)} s`,
        pass: p(a.stalenessS, 99) <= bound,
        note: `fair share: ${n} jobs × 60 s / ${perMinute} updates a minute = one refresh per ${bound.toFixed(1)} s per job; refreshes per job while running: ours ${a.refreshesPerJob.toFixed(2)}, naive ${b.refreshesPerJob.toFixed(2)}`,
      },
    );
  }
  return rows;
}
