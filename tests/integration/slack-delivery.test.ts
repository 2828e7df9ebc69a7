// The Slack delivery (src/slack/delivery) with the real @slack/web-api client
// against the emulator, which enforces Slack's tiers per workspace, and the
// test Redis for the shared budgets and the outbox.
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { newJob, type JobRecord } from '../../src/domain/job.js';
import { keys as keysFor } from '../../src/domain/keys.js';
import { silentLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { StatusThrottle } from '../../src/jobs/run/status-throttle.js';
import { SlackJobNotifier } from '../../src/slack/slack-job-notifier.js';
import type { SlackDelivery } from '../../src/slack/delivery/index.js';
import { SharedBudget } from '../../src/slack/delivery/shared-budget.js';
import { SlackEmulator, type RecordedCall } from '../support/slack-emulator/index.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { testDelivery } from '../support/slack-delivery.js';
import { eventually, sleep } from '../support/eventually.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let redis: Redis;
let prefix: string;
const cleanups: Array<() => Promise<unknown>> = [];

beforeEach(() => {
  redis = new Redis(redisUrl());
  prefix = uniquePrefix();
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
});

async function emulator(opts: Parameters<typeof SlackEmulator.start>[0]): Promise<SlackEmulator> {
  const emu = await SlackEmulator.start(opts);
  cleanups.push(() => emu.close());
  return emu;
}

function delivery(o: Omit<Parameters<typeof testDelivery>[0], 'redis' | 'prefix'>): SlackDelivery {
  const d = testDelivery({ ...o, redis, prefix });
  d.start();
  cleanups.push(() => d.close());
  return d;
}

const job = (id: string, channel: string, over: Partial<JobRecord> = {}): JobRecord => ({
  ...newJob({ id, project: 'demo', issue: 7, request: 'fix #7 in demo', channel, user: 'U0ALICE', createdAt: Date.now() }),
  state: 'starting',
  ...over,
});

/** Resolves true if `p` settled before everything already queued on the event loop ran, false otherwise. */
const settled = (p: Promise<unknown>): Promise<boolean> =>
  Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((r) => setImmediate(() => r(false))),
  ]);

describe('a 429 storm on chat.update', () => {
  test("does not delay another job's result or a new job's status post; nothing waits on the paused call", async () => {
    // Our budget thinks chat.update has room; this workspace allows 2 calls: Slack answers 429, Retry-After 30 s.
    const emu = await emulator({ rateLimits: { 'chat.update': 2 }, retryAfterSeconds: 30 });
    const metrics = new Metrics();
    const notifier = new SlackJobNotifier(delivery({ emu, budgets: { methodLimits: { 'chat.update': 1000 } }, metrics }));

    const a = job('aaaaaaaaaaaa', 'C0STORMA');
    a.statusTs = await notifier.postStatus(a);
    const b = job('bbbbbbbbbbbb', 'C0STORMB');
    b.statusTs = await notifier.postStatus(b);
    await notifier.updateStatus({ ...a, state: 'running', step: 1, totalSteps: 3 });
    await notifier.updateStatus({ ...a, state: 'running', step: 2, totalSteps: 3 });
    const paused = notifier.updateStatus({ ...a, state: 'running', step: 3, totalSteps: 3 });
    const limited = await emu.waitFor(() => emu.calls.find((c) => c.status === 429), { what: 'the 429' });

    // B ends (its result), C starts (its status post), and B's status wants a refresh too.
    await notifier.postResult({ ...b, state: 'done', finishedAt: Date.now(), summary: 'B is done' });
    const c = job('cccccccccccc', 'C0STORMC');
    await notifier.postStatus(c);
    const bRefresh = notifier.updateStatus({ ...b, state: 'running', step: 1, totalSteps: 3 });

    expect(await settled(paused)).toBe(false);
    const after = emu.calls.filter((x) => x.seq > limited.seq).map((x: RecordedCall) => [x.method, x.args.channel, x.status]);
    // Only the other methods went out: chat.update waits for Retry-After on every job, and asks Slack nothing meanwhile.
    expect(after).toEqual([
      ['chat.postMessage', 'C0STORMB', 200],
      ['chat.postMessage', 'C0STORMC', 200],
    ]);
    expect(emu.messages({ channel: 'C0STORMB', thread_ts: b.statusTs }).map((m) => m.text)).toEqual([
      expect.stringContaining('demo #7'),
      expect.stringContaining('is done'),
    ]);
    const counted = await metrics.registry.getSingleMetricAsString('switchboard_slack_calls_total');
    expect(counted).toContain('method="chat.update",outcome="rate_limited"} 1');
    expect(counted).toContain('method="chat.postMessage",outcome="ok"} 4');
    expect(await metrics.registry.getSingleMetricAsString('switchboard_slack_delivery_queue_depth')).toContain(
      'switchboard_slack_delivery_queue_depth 2',
    );

    // Shutdown drops pending progress (the next replica re-renders it) instead of waiting 30 s.
    const [d] = cleanups.splice(1, 1);
    await d?.();
    await expect(paused).resolves.toBeUndefined();
    await expect(bRefresh).resolves.toBeUndefined();
  });
});

describe('20 concurrent jobs emitting progress quickly (Slack time 20× faster)', () => {
  test('no 429 at all, every final delivered once, every status refreshed while its job ran', async () => {
    const SCALE = 20;
    const WINDOW_MS = 60_000 / SCALE;
    const emu = await emulator({ timeScale: SCALE });
    const notifier = new SlackJobNotifier(delivery({ emu, budgets: { windowMs: WINDOW_MS } }));

    // Like JobSupervisor: a throttle paced to the job's fair share; at the end the final status and the result.
    async function run(i: number): Promise<JobRecord> {
      let j = job(`job${String(i).padStart(9, '0')}`, `C0LOAD${String(i).padStart(3, '0')}`);
      const statusTs = await notifier.postStatus(j);
      j = { ...j, statusTs, threadTs: statusTs, state: 'running', startedAt: Date.now() };
      const pacer = notifier.statusPacer(j.id, 50);
      const throttle = new StatusThrottle(
        (x, info) => notifier.updateStatus(x, info),
        () => pacer.intervalMs(),
        silentLogger,
        () => pacer.close(),
      );
      const end = Date.now() + (WINDOW_MS * 4) / 3; // 80 s of Slack time
      for (let step = 1; Date.now() < end; step++) {
        j = { ...j, step, totalSteps: 10_000, stepName: `work ${step}` };
        throttle.offer(j);
        await sleep(20); // the agent's own pace: 50 events a second
      }
      const done: JobRecord = { ...j, state: 'done', finishedAt: Date.now(), summary: `job ${i} is done` };
      await Promise.all([throttle.final(done), notifier.postResult(done)]);
      return done;
    }
    const jobs = await Promise.all(Array.from({ length: 20 }, (_, i) => run(i)));

    expect(emu.calls.filter((c) => c.status === 429)).toEqual([]);
    for (const j of jobs) {
      const thread = emu.messages({ channel: j.channel, thread_ts: j.statusTs });
      const [status, ...rest] = thread;
      expect(rest.map((m) => m.text)).toEqual([`demo #7 is done`]);
      expect(status?.text).toMatch(/done in/);
      const whileRunning = status?.history.filter((v) => /running · step \d+/.test(v.text ?? '')) ?? [];
      expect({ job: j.id, refreshedWhileRunning: whileRunning.length > 0 }).toEqual({ job: j.id, refreshedWhileRunning: true });
    }
  });
});

describe('two dispatcher processes', () => {
  beforeAll(async () => {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT });
  }, 120_000);

  test('share one chat.update budget through Redis and together stay within it', async () => {
    const SCALE = 20;
    const WINDOW_MS = 60_000 / SCALE;
    const emu = await emulator({ timeScale: SCALE });
    const runOne = (name: string) =>
      new Promise<{ name: string; updates: number }>((resolve, reject) => {
        const env = {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          API_URL: emu.apiUrl,
          TOKEN: emu.botToken,
          REDIS_URL: redisUrl(),
          PREFIX: prefix,
          WINDOW_MS: String(WINDOW_MS),
          JOBS: '10',
          RUN_MS: String(WINDOW_MS * 2),
          NAME: name,
        };
        const child = spawn(process.execPath, ['tests/support/processes/delivery-load.mjs'], {
          cwd: ROOT,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) =>
          code === 0 ? resolve(JSON.parse(out) as { name: string; updates: number }) : reject(new Error(`${name} exited ${code}: ${out}`)),
        );
      });
    const [p, q] = await Promise.all([runOne('PA'), runOne('PB')]);

    const updates = emu.calls.filter((c) => c.method === 'chat.update');
    expect(emu.calls.filter((c) => c.status === 429)).toEqual([]);
    expect(updates).toHaveLength(p.updates + q.updates);
    // Both processes had jobs waiting all along: each got a share, and together they used the budget.
    expect(p.updates).toBeGreaterThan(10);
    expect(q.updates).toBeGreaterThan(10);
    expect(updates.length).toBeGreaterThanOrEqual(60);
    // No window of Slack's length holds more than Tier 3's 50 calls.
    let most = 0;
    for (let i = 0, j = 0; i < updates.length; i++) {
      while ((updates[i] as RecordedCall).at - (updates[j] as RecordedCall).at >= WINDOW_MS) j++;
      most = Math.max(most, i - j + 1);
    }
    expect(most).toBeLessThanOrEqual(50);
  });
});

describe('a result Slack cannot take now', () => {
  test('is retried a bounded number of times, kept in the outbox, logged with its job id, and delivered by a later sweep', async () => {
    const emu = await emulator({});
    const lines: string[] = [];
    const { createLogger } = await import('../../src/observability/logger.js');
    const logger = createLogger('warn', { write: (l: string) => void lines.push(l) });
    // Nothing listens on port 9 of 127.0.0.1: every call fails with a network error.
    const down = testDelivery({
      emu: { ...emu, apiUrl: 'http://127.0.0.1:9/api/', botToken: emu.botToken } as SlackEmulator,
      redis,
      prefix,
      retries: 2,
      backoffMs: 10,
      logger,
    });
    const r = job('dddddddddddd', 'C0OUTBOX', { state: 'done', statusTs: '1700000000.000100', summary: 'kept' });
    await new SlackJobNotifier(down).postResult(r);
    await down.close();
    const k = keysFor(prefix);
    expect(await redis.zcard(k.slackOutbox)).toBe(1);
    const logged = lines.map((l) => JSON.parse(l) as { jobId?: string; msg: string; level: string });
    expect(logged.filter((l) => /retrying/.test(l.msg))).toHaveLength(2);
    expect(logged).toContainEqual(
      expect.objectContaining({ level: 'error', jobId: r.id, msg: expect.stringContaining('kept in the outbox') }),
    );
    expect(emu.calls).toEqual([]);

    // Another replica (Slack back) sweeps it once it is due.
    const up = delivery({ emu });
    await redis.zadd(k.slackOutbox, '0', (await redis.zrange(k.slackOutbox, '0', '0'))[0] as string);
    await up.sweepOutbox();
    const result = await emu.waitFor(() => emu.messages({ channel: 'C0OUTBOX' })[0], { what: 'the kept result' });
    expect(result.text).toContain('is done');
    await eventually(async () => (await redis.zcard(k.slackOutbox)) === 0, 'the outbox to be empty');
    expect(emu.calls).toHaveLength(1);
  });
});

describe('the shared budget (Lua token bucket)', () => {
  test('progress leaves a reserve for urgent calls; a 429 blocks the bucket for everyone', async () => {
    const budget = new SharedBudget(redis, keysFor(prefix).slackBudget);
    const bucket = [{ name: 'w:chat.update', capacity: 3, refillPerMs: 1 / 60_000 }];
    expect(await budget.take(bucket, 1)).toEqual({ granted: true });
    expect(await budget.take(bucket, 1)).toEqual({ granted: true });
    const progress = await budget.take(bucket, 1);
    expect(progress.granted).toBe(false);
    expect(await budget.take(bucket, 0)).toEqual({ granted: true });
    expect((await budget.take(bucket, 0)).granted).toBe(false);

    const other = [{ name: 'w:reactions.add', capacity: 3, refillPerMs: 1 }];
    await budget.block(other, 5000);
    const blocked = await budget.take(other, 0);
    expect(blocked.granted).toBe(false);
    expect(!blocked.granted && blocked.waitMs).toBeGreaterThan(4000);
    // All or nothing: one empty bucket and one full one take nothing from the full one.
    const fresh = [{ name: 'w:chat.delete', capacity: 1, refillPerMs: 1 / 60_000 }];
    expect((await budget.take([...fresh, ...other], 0)).granted).toBe(false);
    expect(await budget.take(fresh, 0)).toEqual({ granted: true });
  });
});
