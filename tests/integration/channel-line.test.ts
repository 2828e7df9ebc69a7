// `busy: queue` on the real Redis: the channel's line hands the lock to one
// waiting job at a time, in order, also when replicas finish, sweep and
// cancel at once; cancelled jobs are passed over; places are kept up to date.
import { Redis } from 'ioredis';
import { parseCatalogue } from '../../src/config/catalogue.js';
import { keys as keysFor } from '../../src/domain/keys.js';
import { ChannelLine } from '../../src/state/channel-line.js';
import { ChannelLock } from '../../src/state/channel-lock.js';
import { JobStore } from '../../src/state/job-store.js';
import { WaitingJobs } from '../../src/jobs/waiting-jobs.js';
import type { QueuedJobData } from '../../src/jobs/job-queue.js';
import type { JobRecord } from '../../src/domain/job.js';
import { silentLogger } from '../../src/observability/logger.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { aJob } from '../support/jobs.js';

const CATALOGUE = parseCatalogue(
  `
projects:
  billing-api:
    repo: https://github.com/acme/billing-api.git
    agent: { command: ["agent", "{prompt}"] }
    busy: queue
    priority: 5
`,
  'test catalogue',
);
const LEASE = 60_000;
const prefix = uniquePrefix();
const keys = keysFor(prefix);
let redis: Redis;
let store: JobStore;
let line: ChannelLine;
let lock: ChannelLock;
let n = 0;

function waitingJobs() {
  const enqueued: { data: QueuedJobData; priority: number }[] = [];
  const statuses: JobRecord[] = [];
  const waiting = new WaitingJobs({
    line,
    store,
    notifier: { updateStatus: async (j) => void statuses.push(j) },
    catalogue: () => CATALOGUE,
    enqueue: async (data, priority) => void enqueued.push({ data, priority }),
    isQueued: async (id) => enqueued.some((e) => e.data.jobId === id),
    lockLeaseMs: LEASE,
    logger: silentLogger,
  });
  return { waiting, enqueued, statuses };
}

async function recorded(channel: string): Promise<JobRecord> {
  const job = aJob({ id: `j${String(++n).padStart(10, '0')}`, channel });
  await store.save(job);
  return job;
}

beforeAll(() => {
  redis = new Redis(redisUrl());
  store = new JobStore(redis, keys);
  line = new ChannelLine(redis, keys);
  lock = new ChannelLock(redis, keys);
});
afterAll(async () => {
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
});

test('jobs wait in order behind the holder, and each end passes the channel to exactly the next one', async () => {
  const channel = 'C0LINE1';
  const { waiting, enqueued, statuses } = waitingJobs();
  const [a, b, c] = [await recorded(channel), await recorded(channel), await recorded(channel)];
  expect(await waiting.join(a)).toEqual({ took: true });
  const jb = await waiting.join(b);
  const jc = await waiting.join(c);
  expect(jb).toMatchObject({ took: false, job: { waiting: { position: 1 } } });
  expect(jc).toMatchObject({ took: false, job: { waiting: { position: 2 } } });
  expect(await waiting.join(c)).toMatchObject({ took: false, job: { waiting: { position: 2 } } }); // joining twice keeps one place
  expect(await line.waiting(channel)).toEqual([b.id, c.id]);

  // Two replicas see `a` end at once: the channel goes to b, once.
  await Promise.all([waiting.release(channel, a.id), waitingJobs().waiting.release(channel, a.id)]);
  expect(await lock.holder(channel)).toBe(b.id);
  expect(enqueued).toEqual([{ data: { jobId: b.id, channel }, priority: 5 }]);
  expect((await store.get(b.id))?.waiting).toBeUndefined();
  expect((await store.get(c.id))?.waiting).toEqual({ position: 1 });
  expect(statuses.map((s) => [s.id, s.waiting?.position])).toContainEqual([c.id, 1]);

  // A release by someone who does not hold the channel changes nothing.
  await waiting.release(channel, a.id);
  expect(await lock.holder(channel)).toBe(b.id);

  await waiting.release(channel, b.id);
  expect(await lock.holder(channel)).toBe(c.id);
  await waiting.release(channel, c.id);
  expect(await lock.holder(channel)).toBeNull();
  expect(enqueued.map((e) => e.data.jobId)).toEqual([b.id, c.id]);
});

test('a waiting job that was cancelled is passed over; one that left the line moves the rest up', async () => {
  const channel = 'C0LINE2';
  const { waiting, enqueued } = waitingJobs();
  const [a, b, c, d] = [await recorded(channel), await recorded(channel), await recorded(channel), await recorded(channel)];
  await waiting.join(a);
  for (const j of [b, c, d]) await waiting.join(j);
  // b is cancelled but (say, by a replica that died) still in line; c leaves the line properly.
  await store.save({ ...b, state: 'cancelled', finishedAt: Date.now() });
  expect(await waiting.leave(c)).toBe(true);
  expect(await waiting.leave(c)).toBe(false);
  expect((await store.get(d.id))?.waiting).toEqual({ position: 2 });

  await waiting.release(channel, a.id);
  expect(await lock.holder(channel)).toBe(d.id);
  expect(enqueued.map((e) => e.data.jobId)).toEqual([d.id]);
});

test('the sweep passes a channel whose holder vanished to the first waiting job, once, and queues a holder that never was', async () => {
  const channel = 'C0LINE3';
  const { waiting, enqueued } = waitingJobs();
  const [a, b, c] = [await recorded(channel), await recorded(channel), await recorded(channel)];
  await waiting.join(a);
  await waiting.join(b);
  await waiting.join(c);
  await redis.del(keys.channelLock(channel)); // a's lease lapsed with nobody to pass it on
  await Promise.all([waiting.sweep(), waitingJobs().waiting.sweep()]);
  expect(await lock.holder(channel)).toBe(b.id);
  expect(enqueued.filter((e) => e.data.jobId === b.id)).toHaveLength(1);
  expect(await line.waiting(channel)).toEqual([c.id]);

  // The line passed to c, but the replica died before queueing it: the sweep queues it.
  await line.passOn(channel, b.id, LEASE);
  expect(await lock.holder(channel)).toBe(c.id);
  await waiting.sweep();
  // (Other tests' channels are swept too; their holders are not in this test's fake queue.)
  expect(enqueued.filter((e) => e.data.channel === channel).map((e) => e.data.jobId)).toEqual([b.id, c.id]);
  expect(await line.channels()).not.toContain(channel);
});

test('a finished job frees its channel at once when nobody waits, and keeps it for the next one otherwise', async () => {
  const channel = 'C0LINE4';
  const { waiting, enqueued } = waitingJobs();
  const [a, b] = [await recorded(channel), await recorded(channel)];
  await waiting.join(a);
  await waiting.freeIfNoneWaiting(channel, a.id);
  expect(await lock.holder(channel)).toBeNull();

  await waiting.join(a);
  await waiting.join(b);
  await waiting.freeIfNoneWaiting(channel, a.id);
  expect(await lock.holder(channel)).toBe(a.id); // b waits for a to tidy up (its workspace)
  await waiting.release(channel, a.id);
  expect(await lock.holder(channel)).toBe(b.id);
  expect(enqueued.map((e) => e.data.jobId)).toEqual([b.id]);
});
