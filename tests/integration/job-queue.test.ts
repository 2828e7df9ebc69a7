// The dispatch queue against the test Redis, with BullMQ's real Queue and
// Worker: the ids Switchboard makes are ones BullMQ takes (issue 13: an
// all-digit id failed one request in about 300), and an id that Switchboard
// never makes is stopped before it reaches BullMQ or a Redis key.
import { Redis } from 'ioredis';
import { JobQueue } from '../../src/jobs/job-queue.js';
import { newJobId, type RandomSource } from '../../src/domain/job-id.js';
import { keys as keysFor } from '../../src/domain/keys.js';
import { parseCatalogue } from '../../src/config/catalogue.js';
import { JobControls } from '../../src/state/job-controls.js';
import { JobStore } from '../../src/state/job-store.js';
import { ChannelLock, workspaceLock } from '../../src/state/channel-lock.js';
import { AgentCredentials } from '../../src/state/agent-credentials.js';
import { JobSupervisor } from '../../src/jobs/run/job-supervisor.js';
import type { JobSpawner } from '../../src/spawners/spawner.js';
import type { JobNotifier } from '../../src/jobs/ports.js';
import { silentLogger } from '../../src/observability/logger.js';
import { eventually } from '../support/eventually.js';
import { aJob } from '../support/jobs.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

/** The bytes behind `106669437810`, the all-digit id of issue 13's failing CI run, repeated. */
const digitBytes: RandomSource = (size) =>
  Uint8Array.from({ length: size }, (_, i) => [0x10, 0x66, 0x69, 0x43, 0x78, 0x10][i % 6] as number);

let redis: Redis;
let prefix: string;
let queue: JobQueue;

beforeEach(() => {
  redis = new Redis(redisUrl());
  prefix = uniquePrefix();
  queue = new JobQueue({ redisUrl: redisUrl(), prefix: keysFor(prefix).queuePrefix, maxConcurrentJobs: 1, logger: silentLogger });
});
afterEach(async () => {
  await queue.close();
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
});

test('an id made from the bytes that once gave an all-digit id is queued and run to the end by the real worker', async () => {
  // The premise: BullMQ itself refuses the old all-digit id.
  await expect(queue.queue.add('run', { jobId: '106669437810', channel: 'C0QUEUE' }, { jobId: '106669437810' })).rejects.toThrow(
    /Custom Id cannot be integers/,
  );

  const jobId = newJobId(digitBytes);
  const store = new JobStore(redis, keysFor(prefix));
  await store.save(aJob({ id: jobId, channel: 'C0QUEUE' }));
  await queue.init();
  await queue.enqueue({ jobId, channel: 'C0QUEUE' }, 0);

  const processed: string[] = [];
  queue.startWorker(
    async (id) => {
      processed.push((await store.get(id))?.id ?? `no record for ${id}`);
      return 'finished';
    },
    async () => undefined,
  );
  await eventually(async () => (await queue.queue.getJobState(jobId)) === 'completed', 'the queued job to complete', 15_000);
  expect(processed).toEqual([jobId]);
});

test("metrics: the depth counts jobs waiting for a slot, and a job's wait is heard once, when a worker first takes it", async () => {
  const waits: number[] = [];
  const q = new JobQueue({
    redisUrl: redisUrl(),
    prefix: keysFor(prefix).queuePrefix,
    maxConcurrentJobs: 1,
    logger: silentLogger,
    onTaken: (ms) => waits.push(ms),
  });
  try {
    await q.init();
    const ids = [newJobId(), newJobId()];
    for (const id of ids) await q.enqueue({ jobId: id, channel: 'C0QUEUE' }, 0);
    expect(await q.depth()).toBe(2);
    let release: () => void = () => undefined;
    const firstHeld = new Promise<void>((r) => (release = r));
    q.startWorker(
      async (id) => {
        if (id === ids[0]) await firstHeld;
        return 'finished';
      },
      async () => undefined,
    );
    await eventually(async () => (await q.depth()) === 1, 'one job to be taken, one to wait');
    release();
    await eventually(async () => (await q.queue.getJobState(ids[1] as string)) === 'completed', 'both jobs to complete', 15_000);
    expect(await q.depth()).toBe(0);
    expect(waits).toHaveLength(2);
    expect(waits.every((ms) => ms >= 0)).toBe(true);
  } finally {
    await q.close();
  }
});

test('enqueue refuses an id Switchboard never makes before BullMQ sees it', async () => {
  await expect(queue.enqueue({ jobId: '106669437810', channel: 'C0QUEUE' }, 0)).rejects.toMatchObject({ code: 'JOB_ID_INVALID' });
  await expect(queue.enqueue({ jobId: `${prefix}*`, channel: 'C0QUEUE' }, 0)).rejects.toMatchObject({ code: 'JOB_ID_INVALID' });
  expect(await queue.queue.getJobCounts()).toMatchObject({ waiting: 0, prioritized: 0 });
});

test('a queue entry whose id Switchboard never made is dropped by the supervisor without touching Redis keys or the spawner', async () => {
  const k = keysFor(prefix);
  const tripwire = (what: string) => () => Promise.reject(new Error(`${what} must not be called for a malformed id`));
  const spawner: JobSpawner = {
    kind: 'docker',
    start: tripwire('spawner.start'),
    attach: tripwire('spawner.attach'),
    stop: tripwire('spawner.stop'),
    ping: tripwire('spawner.ping'),
    list: tripwire('spawner.list'),
    close: tripwire('spawner.close'),
  };
  const notifier: JobNotifier = {
    postStatus: tripwire('postStatus'),
    updateStatus: tripwire('updateStatus'),
    postResult: tripwire('postResult'),
  };
  const supervisor = new JobSupervisor({
    redis,
    keys: k,
    store: new JobStore(redis, k),
    lock: new ChannelLock(redis, k),
    controls: new JobControls(redis, k),
    workspaceLock: workspaceLock(redis, k),
    credentials: new AgentCredentials(redis, k, silentLogger),
    spawner,
    notifier,
    catalogue: () => parseCatalogue('projects: {}\n', 'empty'),
    agent: { image: 'unused', redisUrl: redisUrl(), redisPrefix: prefix, secrets: {} },
    logger: silentLogger,
  });
  // Written by something other than JobQueue.enqueue (an older version, a hand-made entry), with a record to match.
  await redis.set(k.job('*'), JSON.stringify(aJob({ id: '*', channel: 'C0QUEUE' })));
  await queue.queue.add('run', { jobId: '*', channel: 'C0QUEUE' }, { jobId: 'planted' });
  const results: string[] = [];
  queue.startWorker(
    async (id, signal) => {
      results.push(await supervisor.supervise(id, signal));
      return 'finished';
    },
    async () => undefined,
  );
  await eventually(async () => (await queue.queue.getJobState('planted')) === 'completed', 'the planted entry to be done with', 15_000);
  expect(results).toEqual(['finished']);
  const touched = (await redis.keys(`${prefix}*`)).filter((key) => !key.startsWith(k.queuePrefix));
  expect(touched).toEqual([k.job('*')]);
  expect(JSON.parse((await redis.get(k.job('*'))) ?? '{}')).toMatchObject({ state: 'queued' });
});
