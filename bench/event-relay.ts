// Event relay throughput: agent → Redis stream → dispatcher, on the real path.
//
// Ours:     EventPublisher.publish (schema check + MULTI{XADD MAXLEN ~ 1000, EXPIRE})
//           → EventReader.read (XREAD COUNT 100 BLOCK + JSON.parse + schema check).
// Baseline: plain XADD of the same JSON → plain XREAD COUNT 100 BLOCK, no parsing.
//
// Both run as production does: one producer awaiting each event in turn (the
// runner awaits every publish) and one consumer on its own connection reading
// concurrently. Throughput = N / (first publish … last event read).
import { Redis } from 'ioredis';
import { EventPublisher } from '../src/agent/event-publisher.js';
import { EVENT_SCHEMA_VERSION, type AgentEventBody } from '../src/domain/events.js';
import { keys as makeKeys } from '../src/domain/keys.js';
import { EventReader } from '../src/jobs/run/event-reader.js';
import { median, nowMs, pick, prng, type Row } from './support.js';

const N = 20_000;
const REPEATS = 5;
const WARMUP_N = 2_000;
const READ_COUNT = 100; // what JobSupervisor uses
const BLOCK_MS = 1_000;
export const RELAY_TARGET_RATIO = 0.5;

/** A plausible agent run: started, then mostly log lines, some progress and usage, then done. */
function eventBodies(n: number): AgentEventBody[] {
  const rand = prng(58);
  const words = [
    'compiling',
    'src/billing/invoice.ts',
    'npm',
    'test',
    'passed',
    'failed',
    'retrying',
    'lint',
    'ok',
    'warning:',
    'unused',
    'variable',
    'TS2345',
    'coverage',
    '87%',
    'git',
    'diff',
    '--stat',
  ];
  const steps = ['clone', 'install', 'reproduce', 'edit', 'test', 'push', 'open PR'];
  const out: AgentEventBody[] = [
    { type: 'started', project: 'billing-api', ref: 'main', image: 'switchboard/agent:1.4.2', host: 'agent-host-1' },
  ];
  for (let i = 1; i < n - 1; i++) {
    const r = rand();
    if (r < 0.8) {
      const len = 4 + Math.floor(rand() * 20);
      const text = Array.from({ length: len }, () => pick(rand, words)).join(' ');
      out.push({ type: 'log', text, level: rand() < 0.9 ? 'info' : 'warn' });
    } else if (r < 0.95) {
      const step = 1 + Math.floor(rand() * steps.length);
      out.push({
        type: 'progress',
        step,
        total: steps.length,
        name: steps[step - 1] ?? 'step',
        text: rand() < 0.5 ? 'working on it' : undefined,
      });
    } else {
      out.push({
        type: 'usage',
        model: 'claude-sonnet',
        promptTokens: Math.floor(rand() * 5000),
        completionTokens: Math.floor(rand() * 800),
        costUsd: Math.round(rand() * 100) / 1000,
      });
    }
  }
  out.push({
    type: 'done',
    summary: 'Fixed the rounding in invoice totals; added a test.',
    prUrl: 'https://github.com/acme/billing-api/pull/59',
    branch: 'switchboard/58',
    commit: 'a1b2c3d',
  });
  return out;
}

/** The JSON the publisher would write for each body (same bytes for the baseline). */
function asPublished(bodies: readonly AgentEventBody[], jobId: string): string[] {
  const ts = Date.now();
  return bodies.map((b, seq) => JSON.stringify({ ...b, v: EVENT_SCHEMA_VERSION, jobId, seq, ts }));
}

async function readyConnection(url: string, name: string): Promise<Redis> {
  const r = new Redis(url, { connectionName: `switchboard-bench:${name}`, maxRetriesPerRequest: 1 });
  await r.ping();
  return r;
}

type Variant = 'ours' | 'baseline';
let runNo = 0;

/** Runs one pass and returns events/s. Throws if any event is lost, reordered or rejected. */
async function pass(
  variant: Variant,
  url: string,
  producer: Redis,
  bodies: readonly AgentEventBody[],
  json: readonly string[],
): Promise<number> {
  const n = bodies.length;
  const prefix = `bench:relay:${process.pid}:`;
  const k = makeKeys(prefix);
  const jobId = `${variant}-${runNo++}`;
  const streamKey = k.jobEvents(jobId);
  const consumerConn = await readyConnection(url, `${variant}-reader`);

  let consume: () => Promise<void>;
  let produce: () => Promise<void>;
  if (variant === 'ours') {
    const publisher = new EventPublisher(producer, k, jobId);
    const reader = new EventReader(consumerConn, streamKey, '0-0');
    produce = async () => {
      for (const b of bodies) await publisher.publish(b);
    };
    consume = async () => {
      let got = 0;
      try {
        while (got < n) {
          for (const entry of await reader.read(BLOCK_MS, READ_COUNT)) {
            if ('error' in entry) throw new Error(`relay rejected event ${entry.id}: ${entry.error}`);
            if (entry.event.seq !== got)
              throw new Error(`relay lost events: expected seq ${got}, got ${entry.event.seq} (stream trimmed under a slow reader?)`);
            got++;
          }
        }
      } finally {
        reader.close();
      }
    };
  } else {
    produce = async () => {
      for (const e of json) await producer.xadd(streamKey, '*', 'e', e);
    };
    consume = async () => {
      let got = 0;
      let cursor = '0-0';
      try {
        while (got < n) {
          const reply = (await consumerConn.xread('COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', streamKey, cursor)) as
            [string, [string, string[]][]][] | null;
          for (const [, entries] of reply ?? []) {
            for (const [id] of entries) {
              cursor = id;
              got++;
            }
          }
        }
      } finally {
        consumerConn.disconnect();
      }
    };
  }

  const t0 = nowMs();
  await Promise.all([produce(), consume()]);
  const elapsed = nowMs() - t0;
  await producer.del(streamKey);
  return (n / elapsed) * 1000;
}

export async function benchEventRelay(redisUrl: string): Promise<Row[]> {
  const producer = await readyConnection(redisUrl, 'producer');
  try {
    const bodies = eventBodies(N);
    const json = asPublished(bodies, 'x'); // jobId only changes a few bytes; sizes match
    const warmBodies = bodies.slice(0, WARMUP_N);
    const warmJson = json.slice(0, WARMUP_N);
    for (let i = 0; i < 2; i++) {
      await pass('ours', redisUrl, producer, warmBodies, warmJson);
      await pass('baseline', redisUrl, producer, warmBodies, warmJson);
    }
    const ours: number[] = [];
    const base: number[] = [];
    // Interleaved so that drift (thermal, other load) hits both alike.
    for (let i = 0; i < REPEATS; i++) {
      base.push(await pass('baseline', redisUrl, producer, bodies, json));
      ours.push(await pass('ours', redisUrl, producer, bodies, json));
    }
    const o = median(ours);
    const b = median(base);
    const ratio = o / b;
    return [
      {
        bench: 'event-relay',
        metric: `publish→read ${N.toLocaleString('en-US')} events`,
        ours: o,
        baseline: b,
        unit: 'events/s',
        ratio,
        target: `ratio ≥ ${RELAY_TARGET_RATIO}`,
        pass: ratio >= RELAY_TARGET_RATIO,
        note: `runs ours=[${ours.map((x) => x.toFixed(0)).join(', ')}] baseline=[${base.map((x) => x.toFixed(0)).join(', ')}] events/s; per-pair ratios [${ours.map((x, i) => (x / (base[i] ?? NaN)).toFixed(2)).join(', ')}]`,
      },
    ];
  } finally {
    producer.disconnect();
  }
}
