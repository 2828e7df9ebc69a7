// The replica's lease keeper on the real Redis: one batched renewal for every
// lease it holds; a lease found gone or taken is dropped and its holder told;
// a Redis error is no loss; a released lease is deleted only if still ours.
// Ticks are driven by the test (tick(now)), so nothing here waits on a clock.
import { Redis } from 'ioredis';
import { LeaseKeeper, type Lease } from '../../src/state/lease-keeper.js';
import { silentLogger } from '../../src/observability/logger.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

const prefix = uniquePrefix();
let redis: Redis;

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
});

const lease = (name: string, lost?: string[]): Lease => ({
  kind: 'test',
  key: `${prefix}${name}`,
  owner: `owner-${name}`,
  leaseMs: 60_000,
  onLost: () => lost?.push(name),
});

test('renews every held lease once a quarter of its time has passed, in one round', async () => {
  const keeper = new LeaseKeeper({ redis, logger: silentLogger });
  const a = lease('a');
  const b = lease('b');
  for (const l of [a, b]) await redis.set(l.key, l.owner, 'PX', 1000);
  keeper.hold(a);
  keeper.hold(b);
  await keeper.tick(Date.now()); // not due yet
  expect(await redis.pttl(a.key)).toBeLessThanOrEqual(1000);
  await keeper.tick(Date.now() + 15_001);
  expect(await redis.pttl(a.key)).toBeGreaterThan(50_000);
  expect(await redis.pttl(b.key)).toBeGreaterThan(50_000);
});

test('a lease taken by another owner, or gone, is dropped and its holder told; the others are kept', async () => {
  const keeper = new LeaseKeeper({ redis, logger: silentLogger });
  const lost: string[] = [];
  const [taken, gone, kept] = [lease('taken', lost), lease('gone', lost), lease('kept', lost)];
  for (const l of [taken, gone, kept]) await redis.set(l.key, l.owner);
  const held = [taken, gone, kept].map((l) => keeper.hold(l));
  await redis.set(taken.key, 'someone-else');
  await redis.del(gone.key);
  await keeper.tick(Date.now() + 15_001);
  expect(lost.sort()).toEqual(['gone', 'taken']);
  expect(held.map((h) => h.held)).toEqual([false, false, true]);
  expect(await redis.get(taken.key)).toBe('someone-else'); // never touched
  expect(await redis.exists(gone.key)).toBe(0); // never re-created
  // Told once only.
  await keeper.tick(Date.now() + 40_000);
  expect(lost.sort()).toEqual(['gone', 'taken']);
});

test('acquire takes a free lease or confirms its own, and refuses one held by another owner', async () => {
  const keeper = new LeaseKeeper({ redis, logger: silentLogger });
  const mine = lease('acq');
  expect(await keeper.acquire(mine)).toBeDefined();
  expect(await keeper.acquire(mine)).toBeDefined(); // the same owner again
  expect(await keeper.acquire({ ...mine, owner: 'other' })).toBeUndefined();
  expect(await redis.get(mine.key)).toBe(mine.owner);
});

test('release deletes the key only while it is still ours; stop leaves it alone', async () => {
  const keeper = new LeaseKeeper({ redis, logger: silentLogger });
  const r = lease('rel');
  const held = await keeper.acquire(r);
  await held?.release();
  expect(await redis.exists(r.key)).toBe(0);

  const again = await keeper.acquire(r);
  await redis.set(r.key, 'the-next-owner');
  await again?.release();
  expect(await redis.get(r.key)).toBe('the-next-owner');

  const s = lease('stop');
  const stopped = await keeper.acquire(s);
  stopped?.stop();
  await redis.del(s.key);
  const lost: string[] = [];
  keeper.hold({ ...lease('other', lost) }); // a lease that is missing: only it is reported
  await keeper.tick(Date.now() + 15_001);
  expect(lost).toEqual(['other']);
});

test('a Redis error is not a loss: nothing is dropped, and the next round renews', async () => {
  // The keeper's connection is killed by the server; until it is back, commands fail at once.
  const blinking = new Redis(redisUrl(), {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => 300,
    connectionName: `${prefix}blink`,
  });
  if (blinking.status !== 'ready') await new Promise((resolve) => blinking.once('ready', resolve));
  const keeper = new LeaseKeeper({ redis: blinking, logger: silentLogger });
  const lost: string[] = [];
  const l = lease('blip', lost);
  try {
    await redis.set(l.key, l.owner, 'PX', 1000);
    const held = keeper.hold(l);
    const id = await blinking.client('ID');
    const back = new Promise((resolve) => blinking.once('ready', resolve));
    const closed = new Promise((resolve) => blinking.once('close', resolve));
    await redis.client('KILL', 'ID', String(id));
    await closed;
    await keeper.tick(Date.now() + 15_001); // the script fails: Redis is unreachable for this connection
    expect(lost).toEqual([]);
    expect(held.held).toBe(true);
    await back;
    await keeper.tick(Date.now() + 30_002);
    expect(await redis.pttl(l.key)).toBeGreaterThan(50_000);
  } finally {
    blinking.disconnect();
  }
});

test('leases from elsewhere (queued jobs’ channels) are renewed every interval; lost ones are skipped silently', async () => {
  const keeper = new LeaseKeeper({ redis, logger: silentLogger });
  const q = lease('queued');
  await redis.set(q.key, q.owner, 'PX', 1000);
  const missing = lease('queued-missing');
  let asked = 0;
  keeper.renewEvery('queued channel', 5000, async () => {
    asked++;
    return [q, missing];
  });
  const t0 = Date.now();
  await keeper.tick(t0 + 1000);
  expect(asked).toBe(0);
  await keeper.tick(t0 + 6000);
  expect(asked).toBe(1);
  expect(await redis.pttl(q.key)).toBeGreaterThan(50_000);
  expect(await redis.exists(missing.key)).toBe(0);
});
