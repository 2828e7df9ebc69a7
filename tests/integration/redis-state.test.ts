import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { keys, type Keys } from '../../src/domain/keys.js';
import type { JobRecord } from '../../src/domain/job.js';
import { ChannelLock } from '../../src/state/channel-lock.js';
import { JobStore, JOB_INDEX_SIZE, JOB_RECORD_TTL_SECONDS } from '../../src/state/job-store.js';
import { EventDedupe } from '../../src/state/event-dedupe.js';
import { newJobId } from '../../src/domain/job-id.js';
import { eventually } from '../support/eventually.js';
import { aJob } from '../support/jobs.js';
import { deleteKeys, redisUrl } from '../support/redis.js';

const LONG_LEASE = 60_000;

let redis: Redis;
let prefix: string;
let k: Keys;

beforeAll(() => {
  redis = new Redis(redisUrl(), { connectionName: 'sbtest:redis-state' });
});

beforeEach(() => {
  prefix = `sbtest:${randomBytes(4).toString('hex')}:`;
  k = keys(prefix);
});

afterEach(async () => {
  await deleteKeys(redis, `${prefix}*`);
});

afterAll(async () => {
  await redis.quit();
});

const job = (id: string, over: Partial<JobRecord> = {}): JobRecord => aJob({ id, ...over });

describe('ChannelLock', () => {
  test('the first owner takes a free channel, with a lease', async () => {
    const lock = new ChannelLock(redis, k);
    expect(await lock.acquire('C1', 'job-a', LONG_LEASE)).toEqual({ acquired: true });
    expect(await lock.holder('C1')).toBe('job-a');
    const ttl = await redis.pttl(k.channelLock('C1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(LONG_LEASE);
  });

  test('a second owner is refused and told who holds the channel', async () => {
    const lock = new ChannelLock(redis, k);
    await lock.acquire('C1', 'job-a', LONG_LEASE);
    expect(await lock.acquire('C1', 'job-b', LONG_LEASE)).toEqual({ acquired: false, holder: 'job-a' });
    expect(await lock.holder('C1')).toBe('job-a');
  });

  test('acquiring again as the same owner is fine', async () => {
    const lock = new ChannelLock(redis, k);
    await lock.acquire('C1', 'job-a', LONG_LEASE);
    expect(await lock.acquire('C1', 'job-a', LONG_LEASE)).toEqual({ acquired: true });
  });

  test('channels are independent', async () => {
    const lock = new ChannelLock(redis, k);
    expect(await lock.acquire('C1', 'job-a', LONG_LEASE)).toEqual({ acquired: true });
    expect(await lock.acquire('C2', 'job-b', LONG_LEASE)).toEqual({ acquired: true });
  });

  test('only the owner can renew', async () => {
    const lock = new ChannelLock(redis, k);
    await lock.acquire('C1', 'job-a', 5_000);
    expect(await lock.renew('C1', 'job-b', LONG_LEASE)).toBe(false);
    expect(await redis.pttl(k.channelLock('C1'))).toBeLessThanOrEqual(5_000);
    expect(await lock.renew('C1', 'job-a', LONG_LEASE)).toBe(true);
    expect(await redis.pttl(k.channelLock('C1'))).toBeGreaterThan(5_000);
  });

  test('renewing a free channel does not take it', async () => {
    const lock = new ChannelLock(redis, k);
    expect(await lock.renew('C1', 'job-a', LONG_LEASE)).toBe(false);
    expect(await lock.holder('C1')).toBeNull();
  });

  test("only the owner can release; someone else's release leaves the lock alone", async () => {
    const lock = new ChannelLock(redis, k);
    await lock.acquire('C1', 'job-a', LONG_LEASE);
    expect(await lock.release('C1', 'job-b')).toBe(false);
    expect(await lock.holder('C1')).toBe('job-a');
    expect(await lock.release('C1', 'job-a')).toBe(true);
    expect(await lock.holder('C1')).toBeNull();
    expect(await lock.acquire('C1', 'job-b', LONG_LEASE)).toEqual({ acquired: true });
  });

  test('releasing twice is harmless', async () => {
    const lock = new ChannelLock(redis, k);
    await lock.acquire('C1', 'job-a', LONG_LEASE);
    expect(await lock.release('C1', 'job-a')).toBe(true);
    expect(await lock.release('C1', 'job-a')).toBe(false);
  });

  test('a lapsed lease frees the channel for the next owner', async () => {
    const lock = new ChannelLock(redis, k);
    await lock.acquire('C1', 'vanished-job', 200);
    await eventually(async () => (await lock.holder('C1')) === null, 'the lease to lapse', 10_000);
    expect(await lock.acquire('C1', 'job-b', LONG_LEASE)).toEqual({ acquired: true });
    expect(await lock.renew('C1', 'vanished-job', LONG_LEASE)).toBe(false);
    expect(await lock.release('C1', 'vanished-job')).toBe(false);
    expect(await lock.holder('C1')).toBe('job-b');
  });

  test('20 concurrent acquires on separate connections: exactly one winner, the rest told who won', async () => {
    const clients = Array.from({ length: 20 }, (_, i) => new Redis(redisUrl(), { connectionName: `sbtest:lock-${i}` }));
    try {
      await Promise.all(clients.map((c) => c.ping()));
      const results = await Promise.all(clients.map((c, i) => new ChannelLock(c, k).acquire('C-race', `job-${i}`, LONG_LEASE)));
      const winners = results.flatMap((r, i) => (r.acquired ? [`job-${i}`] : []));
      expect(winners).toHaveLength(1);
      const holder = await new ChannelLock(redis, k).holder('C-race');
      expect(holder).toBe(winners[0]);
      for (const r of results) if (!r.acquired) expect(r.holder).toBe(holder);
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
  });
});

describe('JobStore', () => {
  const j1 = newJobId();
  const j2 = newJobId();

  test('save then get returns the same record, with a TTL', async () => {
    const store = new JobStore(redis, k);
    const record = job(j1, { recentLogs: ['a', 'b'], prUrl: 'https://github.com/a/b/pull/1', costUsd: 0.5 });
    await store.save(record);
    expect(await store.get(j1)).toEqual(record);
    const ttl = await redis.ttl(k.job(j1));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(JOB_RECORD_TTL_SECONDS);
  });

  test('get of an unknown job is undefined', async () => {
    expect(await new JobStore(redis, k).get(newJobId())).toBeUndefined();
  });

  test('update changes and stores the record and returns it', async () => {
    const store = new JobStore(redis, k);
    await store.save(job(j1));
    const next = await store.update(j1, (j) => ({ ...j, state: 'running', step: 2 }));
    expect(next).toMatchObject({ state: 'running', step: 2 });
    expect(await store.get(j1)).toEqual(next);
  });

  test('update of an unknown job does nothing and does not create it', async () => {
    const store = new JobStore(redis, k);
    let called = false;
    const ghost = newJobId();
    expect(
      await store.update(ghost, (j) => {
        called = true;
        return j;
      }),
    ).toBeUndefined();
    expect(called).toBe(false);
    expect(await redis.exists(k.job(ghost))).toBe(0);
  });

  test('the result is claimed by one replica at a time, marked announced only when done, and taken again when its poster died', async () => {
    const store = new JobStore(redis, k, 300);
    const claims = await Promise.all(Array.from({ length: 10 }, () => store.claimResultAnnouncement(j1)));
    expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c.kind === 'in-progress')).toHaveLength(9);
    const first = claims.find((c) => c.kind === 'claimed');
    if (first?.kind !== 'claimed') throw new Error('no claim');
    // Renewed while the poster lives: still its own after more than a lease.
    await new Promise((r) => setTimeout(r, 500));
    expect((await store.claimResultAnnouncement(j1)).kind).toBe('in-progress');
    await first.claim.done(60);
    expect((await store.claimResultAnnouncement(j1)).kind).toBe('done');

    // A poster that dies (its renewal stops with it) lets the lease lapse: another replica takes the result.
    const dying = await store.claimResultAnnouncement(j2);
    expect(dying.kind).toBe('claimed');
    await redis.pexpire(`${k.job(j2)}:announced`, 1); // what a dead replica's lease comes to
    await eventually(async () => (await store.claimResultAnnouncement(j2)).kind === 'claimed', 'the lapsed claim to be taken again');
  });

  test('jobs by state: unfinished jobs are counted by state, finished ones leave the count', async () => {
    const store = new JobStore(redis, k);
    await store.save(job(j1, { state: 'queued' }));
    await store.save(job(j2, { state: 'running' }));
    expect(await store.countByState()).toEqual({ queued: 1, running: 1 });
    await store.save(job(j2, { state: 'done' }));
    await store.save(job(j1, { state: 'starting' }));
    expect(await store.countByState()).toEqual({ starting: 1 });
    // A record that expired unfinished leaves the count.
    await redis.del(k.job(j1));
    expect(await store.countByState()).toEqual({});
    expect(await redis.hlen(k.activeJobs)).toBe(0);
  });

  test('a released claim (the post failed) may be taken at once', async () => {
    const store = new JobStore(redis, k);
    const c = await store.claimResultAnnouncement(j1);
    if (c.kind !== 'claimed') throw new Error('no claim');
    await c.claim.release();
    expect((await store.claimResultAnnouncement(j1)).kind).toBe('claimed');
  });

  test('recent lists the newest jobs first, keeps only the newest JOB_INDEX_SIZE, and leaves out expired records', async () => {
    const own = keys(`${prefix}index:`);
    const store = new JobStore(redis, own);
    const ids = Array.from({ length: JOB_INDEX_SIZE + 3 }, () => newJobId());
    const pipeline = redis.pipeline();
    // The oldest three fall out of the index; the records are written by save() below for the newest few only.
    ids.forEach((id, i) => pipeline.zadd(own.jobIndex, i, id));
    await pipeline.exec();
    const newest = ids.slice(-3);
    for (const [i, id] of newest.entries()) await store.save({ ...job(id), createdAt: JOB_INDEX_SIZE + i });
    expect(await redis.zcard(own.jobIndex)).toBe(JOB_INDEX_SIZE);
    expect(await redis.zscore(own.jobIndex, ids[0]!)).toBeNull();
    expect(await redis.ttl(own.jobIndex)).toBeGreaterThan(0);
    // Ids without a record (expired) are skipped.
    expect((await store.recent(10)).map((j) => j.id)).toEqual([...newest].reverse());
    await redis.del(own.jobIndex, ...newest.map((id) => own.job(id)));
  });

  test('jobs of different prefixes do not see each other', async () => {
    await new JobStore(redis, k).save(job(j1));
    const other = keys(`${prefix}other:`);
    expect(await new JobStore(redis, other).get(j1)).toBeUndefined();
  });

  test('ids Switchboard never makes are refused before they reach a key: get finds nothing, save and claim throw', async () => {
    const store = new JobStore(redis, k);
    // A record planted under an all-digit id (BullMQ refuses those) and under a key pattern.
    for (const bad of ['106669437810', '*', 'j1:events', '']) {
      await redis.set(k.job(bad), JSON.stringify(job('a1b2c3d4e5f6')));
      expect(await store.get(bad)).toBeUndefined();
      await expect(store.save(job(bad))).rejects.toMatchObject({ code: 'JOB_ID_INVALID' });
      await expect(store.claimResultAnnouncement(bad)).rejects.toMatchObject({ code: 'JOB_ID_INVALID' });
    }
    expect(await redis.exists(`${k.job('106669437810')}:announced`)).toBe(0);
  });
});

describe('EventDedupe', () => {
  test('a delivery is claimed once; after it is done every redelivery is skipped', async () => {
    const dedupe = new EventDedupe(redis, k);
    const first = await dedupe.claim('Ev01');
    expect(first.kind).toBe('claimed');
    expect((await dedupe.claim('Ev01')).kind).toBe('in-progress');
    if (first.kind === 'claimed') await first.claim.done(60);
    expect((await dedupe.claim('Ev01')).kind).toBe('done');
    expect((await dedupe.claim('Ev02')).kind).toBe('claimed');
    expect(await redis.ttl(k.slackEvent('Ev01'))).toBeGreaterThan(0);
  });

  test('concurrent deliveries of one event: exactly one is claimed', async () => {
    const dedupe = new EventDedupe(redis, k);
    const seen = await Promise.all(Array.from({ length: 10 }, () => dedupe.claim('Ev-race')));
    expect(seen.filter((c) => c.kind === 'claimed')).toHaveLength(1);
  });

  test('a delivery whose handling failed, or whose replica died, is handled when redelivered', async () => {
    const dedupe = new EventDedupe(redis, k, 200);
    const failed = await dedupe.claim('Ev03');
    if (failed.kind !== 'claimed') throw new Error('no claim');
    await failed.claim.release();
    const again = await dedupe.claim('Ev03');
    expect(again.kind).toBe('claimed');
    // A replica that dies mid-way: the in-progress lease lapses (nobody renews it).
    await redis.pexpire(k.slackEvent('Ev03'), 1);
    await eventually(async () => (await dedupe.claim('Ev03')).kind === 'claimed', 'the lapsed claim to be taken again');
    if (again.kind === 'claimed') await again.claim.release(); // stops its renewal
  });
});
