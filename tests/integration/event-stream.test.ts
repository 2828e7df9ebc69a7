import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { keys, type Keys } from '../../src/domain/keys.js';
import { EVENT_SCHEMA_VERSION, MAX_EVENT_ENTRY, type AgentEvent } from '../../src/domain/events.js';
import { EventPublisher } from '../../src/agent/event-publisher.js';
import { HEARTBEAT_TTL_MS, startHeartbeat } from '../../src/agent/heartbeat.js';
import { EventReader, type StreamEntry } from '../../src/jobs/run/event-reader.js';
import { eventually } from '../support/eventually.js';
import { deleteKeys, redisUrl } from '../support/redis.js';

let redis: Redis;
let prefix: string;
let k: Keys;
let jobId: string;
/** Reader connections opened by a test; closed afterwards if the test did not. */
let extra: Redis[] = [];

function readerConnection(name: string): Redis {
  const c = new Redis(redisUrl(), { connectionName: name });
  extra.push(c);
  return c;
}

/** True once the connection called `name` is parked in a blocking command. */
async function isBlocked(name: string): Promise<boolean> {
  const list = String(await redis.client('LIST'));
  return list.split('\n').some((line) => line.includes(` name=${name} `) && / flags=\S*b/.test(line));
}

const events = (entries: StreamEntry[]): AgentEvent[] => entries.flatMap((e) => ('event' in e ? [e.event] : []));

beforeAll(() => {
  redis = new Redis(redisUrl(), { connectionName: 'sbtest:event-stream' });
});

beforeEach(() => {
  prefix = `sbtest:${randomBytes(4).toString('hex')}:`;
  k = keys(prefix);
  jobId = randomBytes(6).toString('hex');
});

afterEach(async () => {
  for (const c of extra) if (c.status !== 'end') c.disconnect();
  extra = [];
  await deleteKeys(redis, `${prefix}*`);
});

afterAll(async () => {
  await redis.quit();
});

describe('EventPublisher → EventReader', () => {
  test('round trip: every event arrives whole, in order, with increasing seq and the job id', async () => {
    const publisher = new EventPublisher(redis, k, jobId);
    await publisher.publish({ type: 'started', project: 'billing-api', ref: '58', image: 'img', host: 'box-1' });
    await publisher.publish({ type: 'progress', step: 1, total: 3, name: 'clone' });
    await publisher.publish({ type: 'log', text: 'Cloning into /workspace…', level: 'info' });
    await publisher.publish({ type: 'usage', model: 'm', promptTokens: 10, completionTokens: 2, costUsd: 0.01 });
    await publisher.publish({ type: 'done', summary: 'Fixed', prUrl: 'https://github.com/a/b/pull/1' });

    const reader = new EventReader(redis, k.jobEvents(jobId), '0');
    const entries = await reader.read(0);
    expect(entries.every((e) => 'event' in e)).toBe(true);
    const got = events(entries);
    expect(got.map((e) => e.type)).toEqual(['started', 'progress', 'log', 'usage', 'done']);
    expect(got.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    for (const e of got) expect(e).toMatchObject({ v: EVENT_SCHEMA_VERSION, jobId });
    expect(got[4]).toMatchObject({ summary: 'Fixed', prUrl: 'https://github.com/a/b/pull/1' });
    expect(reader.position).toBe(entries[4]?.id);
    expect(await reader.read(0)).toEqual([]);
  });

  test('the reader continues from its cursor', async () => {
    const publisher = new EventPublisher(redis, k, jobId);
    await publisher.publish({ type: 'log', text: 'one', level: 'info' });
    const reader = new EventReader(redis, k.jobEvents(jobId), '0');
    expect(events(await reader.read(0)).map((e) => e.type === 'log' && e.text)).toEqual(['one']);
    await publisher.publish({ type: 'log', text: 'two', level: 'info' });
    expect(events(await reader.read(0)).map((e) => e.type === 'log' && e.text)).toEqual(['two']);

    const resumed = new EventReader(redis, k.jobEvents(jobId), reader.position);
    await publisher.publish({ type: 'log', text: 'three', level: 'info' });
    expect(events(await resumed.read(0)).map((e) => e.type === 'log' && e.text)).toEqual(['three']);
  });

  test('the publisher refuses an event that breaks the schema, and writes nothing', async () => {
    const publisher = new EventPublisher(redis, k, jobId);
    await expect(publisher.publish({ type: 'progress', step: 0, total: 1, name: 'x' })).rejects.toThrow();
    expect(await redis.exists(k.jobEvents(jobId))).toBe(0);
  });

  test('the stream has a TTL and is capped near 1000 entries', async () => {
    const publisher = new EventPublisher(redis, k, jobId);
    for (let i = 0; i < 1500; i++) await publisher.publish({ type: 'log', text: `line ${i}`, level: 'debug' });
    const key = k.jobEvents(jobId);
    expect(await redis.ttl(key)).toBeGreaterThan(0);
    const len = await redis.xlen(key);
    expect(len).toBeGreaterThanOrEqual(1000);
    expect(len).toBeLessThanOrEqual(1100);
    // The newest entries are the ones kept.
    const [last] = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as [string, string[]][];
    expect(JSON.parse(last?.[1][1] ?? '{}')).toMatchObject({ seq: 1499, text: 'line 1499' });
  });

  test('malformed entries are skipped with an error, and the good ones after them still arrive', async () => {
    const key = k.jobEvents(jobId);
    const good = (seq: number, text: string) =>
      JSON.stringify({ v: EVENT_SCHEMA_VERSION, jobId, seq, ts: Date.now(), type: 'log', text, level: 'info' });
    await redis.xadd(key, '*', 'e', good(0, 'before'));
    await redis.xadd(key, '*', 'e', '{not json');
    await redis.xadd(key, '*', 'x', good(1, 'wrong field name'));
    await redis.xadd(key, '*', 'e', JSON.stringify({ ...JSON.parse(good(2, 'from the future')), v: 99 }));
    await redis.xadd(key, '*', 'e', JSON.stringify({ v: EVENT_SCHEMA_VERSION, jobId, seq: 3, ts: Date.now(), type: 'log', text: 7 }));
    await redis.xadd(key, '*', 'e', good(4, 'after'));

    const reader = new EventReader(redis, key, '0');
    const entries = await reader.read(0);
    expect(entries).toHaveLength(6);
    const errors = entries.flatMap((e) => ('error' in e ? [e.error] : []));
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatch(/not JSON/);
    expect(errors[1]).toMatch(/no field "e"/);
    expect(errors[2]).toMatch(/unknown schema version v=99/);
    expect(errors[3]).toMatch(/text/);
    expect(events(entries).map((e) => e.type === 'log' && e.text)).toEqual(['before', 'after']);
    expect(reader.position).toBe(entries[5]?.id);
  });

  test('an oversized entry (an agent writing past the 64 KB text cap) is skipped unread and marked, and the next one arrives', async () => {
    const key = k.jobEvents(jobId);
    // What a hostile agent could XADD itself: one 2 MB event.
    const huge = JSON.stringify({
      v: EVENT_SCHEMA_VERSION,
      jobId,
      seq: 0,
      ts: Date.now(),
      type: 'log',
      level: 'info',
      text: 'x'.repeat(MAX_EVENT_ENTRY * 2),
    });
    await redis.xadd(key, '*', 'e', huge);
    await new EventPublisher(redis, k, jobId).publish({ type: 'log', text: 'after', level: 'info' });
    const entries = await new EventReader(redis, key, '0').read(0);
    expect(entries[0]).toEqual({ id: expect.any(String), error: expect.stringContaining('over the'), oversized: true });
    expect(events(entries).map((e) => e.type === 'log' && e.text)).toEqual(['after']);
  });

  test('a blocking read returns the event published from another connection', async () => {
    const name = `sbtest-reader-${randomBytes(3).toString('hex')}`;
    const reader = new EventReader(readerConnection(name), k.jobEvents(jobId), '0');
    const pending = reader.read(5000);
    await eventually(() => isBlocked(name), 'the reader to block in XREAD', 10_000);

    await new EventPublisher(redis, k, jobId).publish({ type: 'progress', step: 1, total: 2, name: 'clone' });
    const entries = await pending;
    expect(events(entries)).toEqual([expect.objectContaining({ type: 'progress', step: 1, name: 'clone', jobId })]);
    reader.close();
  });

  test('close() ends a blocking read in progress', async () => {
    const name = `sbtest-reader-${randomBytes(3).toString('hex')}`;
    const reader = new EventReader(readerConnection(name), k.jobEvents(jobId), '0');
    // A block far longer than this test's timeout: the read only settles in time if close() interrupts it.
    const settled = reader.read(120_000).then(
      () => 'resolved',
      () => 'rejected',
    );
    await eventually(() => isBlocked(name), 'the reader to block in XREAD', 10_000);
    reader.close();
    expect(['resolved', 'rejected']).toContain(await settled);
    await eventually(async () => !(await isBlocked(name)), 'the server to drop the blocked client', 10_000);
  }, 15_000);
});

describe('startHeartbeat', () => {
  test('sets the heartbeat key with a TTL, and the stop function deletes it', async () => {
    const key = k.jobHeartbeat(jobId);
    const errors: Error[] = [];
    const stop = startHeartbeat(redis, key, (err) => errors.push(err));
    try {
      await eventually(async () => (await redis.exists(key)) === 1, 'the first heartbeat', 10_000);
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(HEARTBEAT_TTL_MS);
      expect(Number(await redis.get(key))).toBeGreaterThan(0);
    } finally {
      await stop();
    }
    expect(await redis.exists(key)).toBe(0);
    expect(errors).toEqual([]);
  });
});
