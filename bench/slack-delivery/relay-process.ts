// One relay under load, in its own process (so the emulator in the parent gets
// its own core, and a naive relay that never finishes can simply be killed).
//
// JOBS jobs start spread over the first START_SPREAD_MS, each emits an agent
// event every EVENT_MS for RUN_MS, then ends with `done`. Every event is
// applied to the job record and handed to the relay:
//   switchboard: what JobSupervisor does — a StatusThrottle paced by the
//     delivery's fair share, SlackJobNotifier → SlackDelivery (shared Redis
//     budgets); at the end the final status and the result together.
//   naive: one shared WebClient with its defaults (pauses its queue on a 429,
//     retries for ~30 min), one chat.update per event (in order per job), and
//     the result posted as soon as the job is done.
// Prints one JSON line per job when it is done: {i, channel, startAt, doneAt}.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebClient, LogLevel } from '@slack/web-api';
import { Redis } from 'ioredis';
import { applyEvent, newJob, type JobRecord } from '../../src/domain/job.js';
import type { AgentEvent } from '../../src/domain/events.js';
import { EVENT_SCHEMA_VERSION } from '../../src/domain/events.js';
import { keys as keysFor } from '../../src/domain/keys.js';
import { silentLogger } from '../../src/observability/logger.js';
import { StatusThrottle } from '../../src/jobs/run/status-throttle.js';
import { SlackJobNotifier } from '../../src/slack/slack-job-notifier.js';
import { renderMessage } from '../../src/slack/render/block-kit.js';
import { statusMessage } from '../../src/messages/job-status.js';
import { resultMessage } from '../../src/messages/job-result.js';

const renderStatus = (j: Parameters<typeof statusMessage>[0]) => renderMessage(statusMessage(j));
const renderResult = (j: Parameters<typeof resultMessage>[0]) => renderMessage(resultMessage(j));
import { SlackDelivery, createDeliveryClient, defaultBudgetSettings } from '../../src/slack/delivery/index.js';

const env = process.env;
const num = (name: string): number => {
  const v = Number(env[name]);
  if (!Number.isFinite(v)) throw new Error(`${name} is not set`);
  return v;
};
const MODE = env.MODE === 'naive' ? 'naive' : 'switchboard';
const JOBS = num('JOBS');
const RUN_MS = num('RUN_MS');
const EVENT_MS = num('EVENT_MS');
const START_SPREAD_MS = num('START_SPREAD_MS');
const WINDOW_MS = num('WINDOW_MS');
/** JobSupervisor's statusIntervalMs (3 s), on the scaled clock. */
const BASE_INTERVAL_MS = num('BASE_INTERVAL_MS');
const API_URL = env.API_URL ?? '';
const TOKEN = env.TOKEN ?? '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const report = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

function event(job: JobRecord, seq: number, now: number): AgentEvent {
  const base = { v: EVENT_SCHEMA_VERSION, jobId: job.id, seq, ts: now } as const;
  return seq % 4 === 0
    ? {
        ...base,
        type: 'progress',
        step: Math.min(9, 1 + Math.floor(seq / 40)),
        total: 10,
        name: 'run agent',
        text: `working on step ${seq}`,
      }
    : { ...base, type: 'log', text: `line ${seq}: reading src/module-${seq % 17}.ts`, level: 'info' };
}

interface Relay {
  start(job: JobRecord): Promise<JobRecord>;
  offer(job: JobRecord): void;
  end(job: JobRecord): Promise<void>;
  close(): Promise<void>;
}

function switchboardRelay(): Relay {
  const redis = new Redis(env.REDIS_URL ?? '');
  const delivery = new SlackDelivery({
    client: createDeliveryClient({ token: TOKEN, apiUrl: API_URL, timeoutMs: 10_000 }),
    token: TOKEN,
    redis,
    keys: keysFor(env.PREFIX ?? 'bench:'),
    budgets: defaultBudgetSettings({ windowMs: WINDOW_MS }),
    retries: 3,
    logger: silentLogger,
  });
  delivery.start();
  const notifier = new SlackJobNotifier(delivery);
  const throttles = new Map<string, StatusThrottle>();
  return {
    async start(job) {
      const statusTs = await notifier.postStatus(job);
      const pacer = notifier.statusPacer(job.id, BASE_INTERVAL_MS);
      throttles.set(
        job.id,
        new StatusThrottle(
          (j, info) => notifier.updateStatus(j, info),
          () => pacer.intervalMs(),
          silentLogger,
          () => pacer.close(),
        ),
      );
      return { ...job, statusTs, threadTs: statusTs };
    },
    offer(job) {
      throttles.get(job.id)?.offer(job);
    },
    async end(job) {
      // As JobSupervisor.finish: the final status and the result together.
      await Promise.all([throttles.get(job.id)?.final(job), notifier.postResult(job)]);
    },
    async close() {
      await delivery.close();
      redis.disconnect();
    },
  };
}

function naiveRelay(): Relay {
  const client = new WebClient(TOKEN, { slackApiUrl: API_URL, logLevel: LogLevel.ERROR });
  const chains = new Map<string, Promise<unknown>>();
  const update = (job: JobRecord) => {
    const ts = job.statusTs as string;
    const next = (chains.get(job.id) ?? Promise.resolve())
      .then(() => client.chat.update({ channel: job.channel, ts, ...renderStatus(job) }))
      .catch(() => undefined);
    chains.set(job.id, next);
  };
  return {
    async start(job) {
      const res = await client.chat.postMessage({ channel: job.channel, ...renderStatus(job) });
      return { ...job, statusTs: res.ts as string, threadTs: res.ts as string };
    },
    offer: update,
    async end(job) {
      update(job);
      await client.chat.postMessage({ channel: job.channel, thread_ts: job.threadTs, ...renderResult(job) });
    },
    async close() {},
  };
}

async function runJob(relay: Relay, i: number): Promise<void> {
  await sleep((START_SPREAD_MS * i) / JOBS);
  const id = `bench${String(i).padStart(7, '0')}`;
  const channel = `C0B${String(i).padStart(6, '0')}`;
  let job: JobRecord = newJob({
    id,
    project: 'billing-api',
    issue: 58,
    request: 'fix #58 in billing-api',
    channel,
    user: 'U0ALICE',
    createdAt: Date.now(),
  });
  job = await relay.start({ ...job, state: 'running', startedAt: Date.now() });
  const startAt = Date.now();
  for (let seq = 1; ; seq++) {
    const due = startAt + seq * EVENT_MS;
    if (due - startAt >= RUN_MS) break;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    job = applyEvent(job, event(job, seq, Date.now()));
    relay.offer(job);
  }
  const doneAt = Date.now();
  job = applyEvent(job, {
    v: EVENT_SCHEMA_VERSION,
    jobId: id,
    seq: 1_000_000,
    ts: doneAt,
    type: 'done',
    summary: 'Fixed rounding in invoice totals.',
    prUrl: 'https://github.com/acme/billing-api/pull/59',
  });
  report({ i, channel, statusTs: job.statusTs, startAt, doneAt });
  await relay.end(job);
}

async function main(): Promise<void> {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const relay = MODE === 'naive' ? naiveRelay() : switchboardRelay();
  await Promise.all(Array.from({ length: JOBS }, (_, i) => runJob(relay, i)));
  await relay.close();
  lag.disable();
  // How late this process's own timers ran: load on the relay, not Slack's budget.
  report({ end: true, loopDelayP99Ms: lag.percentile(99) / 1e6, loopDelayMaxMs: lag.max / 1e6 });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
