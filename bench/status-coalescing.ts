// The chat budget, and what a rendered status costs to hold.
//
// 1. Coalescing. A StatusThrottle (as JobSupervisor builds it) is offered the
//    job record after every one of EVENTS agent events, arriving in real time
//    over ~SPAN_MS; its send() only counts. Baseline: one chat.update per event.
//    Production uses minIntervalMs 3000; here the interval and the span are
//    both scaled down 30× (100 ms over 2 s ≈ 3 s over 60 s) to keep the run short.
// 2. Memory. Heap retained (after a full GC) by 1,000 job records rendered with
//    renderStatus, against the same 1,000 records as raw JSON strings (the form
//    the job store keeps them in).
import type { AgentEventBody } from '../src/domain/events.js';
import { EVENT_SCHEMA_VERSION } from '../src/domain/events.js';
import { applyEvent, type JobRecord } from '../src/domain/job.js';
import { silentLogger } from '../src/observability/logger.js';
import { StatusThrottle } from '../src/jobs/run/status-throttle.js';
import { renderMessage } from '../src/slack/render/block-kit.js';
import { statusMessage } from '../src/messages/job-status.js';

const renderStatus = (j: Parameters<typeof statusMessage>[0], now?: number) => renderMessage(statusMessage(j, now));
import { fullGc, median, nowMs, pick, prng, sleep, type Row } from './support.js';

const EVENTS = 2_000;
const SPAN_MS = 2_000;
const TICK_MS = 10; // events arrive in small bursts, like XREAD batches
const MIN_INTERVAL_MS = 100;
const PRODUCTION_INTERVAL_MS = 3_000;
const REPEATS = 3;
export const COALESCING_TARGET_RATIO = 0.05;

const JOBS = 1_000;
const MEMORY_REPEATS = 5;

function baseJob(id: string, rand: () => number): JobRecord {
  return {
    id,
    project: pick(rand, ['billing-api', 'web', 'payments.core', 'infra_tools']),
    issue: 1 + Math.floor(rand() * 9000),
    request: 'fix #58 in billing-api',
    channel: 'C0123ABCD',
    user: 'U0ALICE42',
    threadTs: '1718000000.000100',
    statusTs: '1718000000.000200',
    state: 'running',
    createdAt: 1_718_000_000_000,
    startedAt: 1_718_000_002_000,
    recentLogs: [],
    host: 'agent-host-1',
    promptTokens: 0,
    completionTokens: 0,
    cursor: '0-0',
  };
}

function event(i: number, rand: () => number, last: boolean): Parameters<typeof applyEvent>[1] {
  const env = { v: EVENT_SCHEMA_VERSION, jobId: 'job-1', seq: i, ts: 1_718_000_003_000 + i } as const;
  let body: AgentEventBody;
  if (last) body = { type: 'done', summary: 'Fixed it.', prUrl: 'https://github.com/acme/billing-api/pull/59' };
  else if (rand() < 0.8) body = { type: 'log', text: `line ${i}: ${'npm test '.repeat(1 + Math.floor(rand() * 8))}`, level: 'info' };
  else body = { type: 'progress', step: 1 + (i % 7), total: 7, name: 'test', text: `running suite ${i}` };
  return { ...body, ...env } as Parameters<typeof applyEvent>[1];
}

interface CoalesceResult {
  sent: number;
  minGapMs: number;
  lastWasFinal: boolean;
}

async function coalesceOnce(events: number, spanMs: number): Promise<CoalesceResult> {
  const rand = prng(7);
  const sentAt: number[] = [];
  let lastSent: JobRecord | undefined;
  const throttle = new StatusThrottle(
    async (j) => {
      sentAt.push(nowMs());
      lastSent = j;
    },
    MIN_INTERVAL_MS,
    silentLogger,
  );
  let job = baseJob('job-1', rand);
  const perTick = Math.max(1, Math.round((events * TICK_MS) / spanMs));
  const t0 = nowMs();
  let i = 0;
  while (i < events) {
    for (let k = 0; k < perTick && i < events; k++, i++) {
      job = applyEvent(job, event(i, rand, i === events - 1));
      if (i < events - 1) throttle.offer(job); // JobSupervisor offers unfinished records…
    }
    const due = t0 + (i / events) * spanMs;
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
  }
  await throttle.final(job); // …and sends the finished one through final().
  let minGap = Infinity;
  for (let k = 1; k < sentAt.length; k++) minGap = Math.min(minGap, (sentAt[k] as number) - (sentAt[k - 1] as number));
  // The final update may follow the previous one closer than the interval: it always goes out.
  let minGapRegular = Infinity;
  for (let k = 1; k < sentAt.length - 1; k++) minGapRegular = Math.min(minGapRegular, (sentAt[k] as number) - (sentAt[k - 1] as number));
  return { sent: sentAt.length, minGapMs: Number.isFinite(minGapRegular) ? minGapRegular : minGap, lastWasFinal: lastSent === job };
}

// ------------------------------------------------------------------ memory

let held: unknown[] | undefined; // keeps the measured objects alive across the GC

function records(): JobRecord[] {
  const rand = prng(1000);
  const out: JobRecord[] = [];
  for (let i = 0; i < JOBS; i++) {
    const j = baseJob(`job-${i.toString(36).padStart(6, '0')}`, rand);
    const r = rand();
    if (r < 0.6) {
      out.push({
        ...j,
        step: 4,
        totalSteps: 7,
        stepName: 'test',
        stepText: 'running the billing suite (412 tests)',
        recentLogs: [
          'PASS src/invoice.test.ts (3.1 s)',
          'PASS src/tax.test.ts (0.8 s)',
          `FAIL src/rounding.test.ts: expected 10.05, got ${(10 + rand()).toFixed(2)}`,
        ],
      });
    } else if (r < 0.8) {
      out.push({
        ...j,
        state: 'done',
        finishedAt: 1_718_000_250_000,
        summary: 'Fixed rounding.',
        prUrl: `https://github.com/acme/${j.project}/pull/${j.issue + 1}`,
        branch: `switchboard/${j.issue}`,
      });
    } else if (r < 0.9) {
      out.push({
        ...j,
        state: 'failed',
        finishedAt: 1_718_000_120_000,
        reason: 'the agent exited with code 137 without reporting a result (OOMKilled)',
        retryable: true,
        step: 3,
        totalSteps: 7,
        stepName: 'install',
      });
    } else {
      out.push({ ...j, state: 'queued', startedAt: undefined, host: undefined });
    }
  }
  return out;
}

function retainedBytes(build: () => unknown[]): number {
  held = undefined;
  fullGc();
  const before = process.memoryUsage().heapUsed;
  held = build();
  fullGc();
  const after = process.memoryUsage().heapUsed;
  if (held.length !== JOBS) throw new Error('lost objects');
  held = undefined;
  return after - before;
}

export async function benchStatusCoalescing(): Promise<Row[]> {
  // Warm-up: a short run so timers, JIT and the throttle's paths are hot.
  await coalesceOnce(200, 300);
  const runs: CoalesceResult[] = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await coalesceOnce(EVENTS, SPAN_MS));
  for (const r of runs) {
    if (!r.lastWasFinal) throw new Error('StatusThrottle did not send the final state last');
  }
  const sent = median(runs.map((r) => r.sent));
  const ratio = sent / EVENTS;
  const minGap = Math.min(...runs.map((r) => r.minGapMs));
  const perMinuteProd = (60_000 / PRODUCTION_INTERVAL_MS).toFixed(0);

  const recs = records();
  const now = 1_718_000_300_000;
  const render = () => recs.map((j) => renderStatus(j, now));
  const raw = () => recs.map((j) => JSON.stringify(j));
  for (let i = 0; i < 3; i++) {
    render();
    raw();
  }
  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < MEMORY_REPEATS; i++) {
    base.push(retainedBytes(raw));
    ours.push(retainedBytes(render));
  }
  const om = median(ours);
  const bm = median(base);

  return [
    {
      bench: 'status-coalescing',
      metric: `chat updates for ${EVENTS.toLocaleString('en-US')} events / ${SPAN_MS / 1000} s @ ${MIN_INTERVAL_MS} ms`,
      ours: sent,
      baseline: EVENTS,
      unit: 'updates',
      ratio,
      target: `ratio ≤ ${COALESCING_TARGET_RATIO}`,
      pass: ratio <= COALESCING_TARGET_RATIO,
      note: `runs sent=[${runs.map((r) => r.sent).join(', ')}]; closest two regular updates ${minGap.toFixed(1)} ms apart (interval ${MIN_INTERVAL_MS} ms); final state always last; at the production ${PRODUCTION_INTERVAL_MS} ms that is ≤ ${perMinuteProd}/min per busy job`,
    },
    {
      bench: 'status-coalescing',
      metric: `heap held by ${JOBS.toLocaleString('en-US')} statuses (renderStatus vs JSON)`,
      ours: om / 1024,
      baseline: bm / 1024,
      unit: 'KiB',
      ratio: om / bm,
      note: `retained after full GC; ${(om / JOBS).toFixed(0)} B vs ${(bm / JOBS).toFixed(0)} B per job; runs ours=[${ours.map((x) => (x / 1024).toFixed(0)).join(', ')}] baseline=[${base.map((x) => (x / 1024).toFixed(0)).join(', ')}] KiB`,
    },
  ];
}
