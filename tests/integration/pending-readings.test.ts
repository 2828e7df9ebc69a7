// Readings waiting for Run, on the real Redis: taken once, only by their
// requester; anyone else leaves them in place; they expire.
import { Redis } from 'ioredis';
import { keys as keysFor } from '../../src/domain/keys.js';
import { PendingReadings } from '../../src/state/pending-readings.js';
import { newReadingId } from '../../src/chat/free-text.js';
import { type PendingReading } from '../../src/domain/free-text.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

let redis: Redis;
let prefix: string;
let readings: PendingReadings;

beforeEach(() => {
  redis = new Redis(redisUrl());
  prefix = uniquePrefix();
  const k = keysFor(prefix);
  readings = new PendingReadings(redis, (id) => k.pendingReading(id));
});
afterEach(async () => {
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
});

const reading = (): PendingReading => ({
  id: newReadingId(),
  command: 'fix #58 in billing-api',
  text: 'could you look at 58 in billing',
  user: 'U0ALICE',
  channel: 'C0GENERAL',
  threadTs: '1700000000.000100',
  createdAt: 1_700_000_000_000,
});

test('the requester takes it once; a second take finds it gone', async () => {
  const r = reading();
  await readings.save(r, 60);
  expect(await readings.take(r.id, 'U0ALICE')).toEqual({ kind: 'taken', reading: r });
  expect(await readings.take(r.id, 'U0ALICE')).toEqual({ kind: 'gone' });
});

test('someone else is refused and the reading stays for its requester', async () => {
  const r = reading();
  await readings.save(r, 60);
  expect(await readings.take(r.id, 'U0MALLORY')).toEqual({ kind: 'not-yours', reading: r });
  expect(await readings.take(r.id, 'U0ALICE')).toMatchObject({ kind: 'taken' });
});

test('two presses at once run it once', async () => {
  const r = reading();
  await readings.save(r, 60);
  const other = new Redis(redisUrl());
  try {
    const both = await Promise.all([
      readings.take(r.id, 'U0ALICE'),
      new PendingReadings(other, (id) => keysFor(prefix).pendingReading(id)).take(r.id, 'U0ALICE'),
    ]);
    expect(both.map((t) => t.kind).sort()).toEqual(['gone', 'taken']);
  } finally {
    await other.quit();
  }
});

test('it is kept with a TTL under the prefix', async () => {
  const r = reading();
  await readings.save(r, 900);
  const ttl = await redis.ttl(`${prefix}freetext:${r.id}`);
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(900);
  expect(await readings.take('no-such-id', 'U0ALICE')).toEqual({ kind: 'gone' });
});
