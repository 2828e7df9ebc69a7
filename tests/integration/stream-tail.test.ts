// StreamTail on a real Redis: reads from its cursor in order, a blocking read
// wakes on the next XADD, close() ends a read in progress, and a connection
// that stops answering is made again without the cursor moving.
import { Redis } from 'ioredis';
import { fieldOf, StreamTail } from '../../src/shared/stream-tail.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

const prefix = uniquePrefix();
const redis = new Redis(redisUrl());
afterAll(async () => {
  await deleteKeys(redis, `${prefix}*`);
  redis.disconnect();
});

test('reads after its cursor, in order, and moves past what it returned', async () => {
  const key = `${prefix}ordered`;
  const first = await redis.xadd(key, '*', 'e', 'one');
  await redis.xadd(key, '*', 'e', 'two', 'x', 'y');
  const tail = new StreamTail(redis.duplicate(), key, first!);
  try {
    const entries = await tail.read(0);
    expect(entries.map((e) => fieldOf(e.fields, 'e'))).toEqual(['two']);
    expect(fieldOf(entries[0]!.fields, 'x')).toBe('y');
    expect(fieldOf(entries[0]!.fields, 'missing')).toBeUndefined();
    expect(tail.position).toBe(entries[0]!.id);
    expect(await tail.read(0)).toEqual([]);
  } finally {
    tail.close();
  }
});

test('a blocking read wakes on the next entry; close() ends one in progress', async () => {
  const key = `${prefix}blocking`;
  const tail = new StreamTail(redis.duplicate(), key, '0');
  const reading = tail.read(10_000);
  await redis.xadd(key, '*', 'm', 'hello');
  expect((await reading).map((e) => fieldOf(e.fields, 'm'))).toEqual(['hello']);
  const waiting = tail.read(10_000);
  tail.close();
  await expect(waiting).rejects.toThrow();
});

test('a read on a connection that stops answering fails after its block, and the next read on the new connection loses nothing', async () => {
  const key = `${prefix}partition`;
  const url = new URL(redisUrl());
  const proxy = await startTcpProxy({ listen: { host: '127.0.0.1', port: 0 }, target: { host: url.hostname, port: Number(url.port) } });
  const via = new Redis({
    host: '127.0.0.1',
    port: (proxy.listen as { port: number }).port,
    username: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
  });
  const tail = new StreamTail(via, key, '0', 200);
  try {
    await redis.xadd(key, '*', 'e', 'before');
    expect((await tail.read(0)).map((e) => fieldOf(e.fields, 'e'))).toEqual(['before']);
    const cursor = tail.position;
    proxy.cut('blackhole');
    await expect(tail.read(100)).rejects.toThrow(/did not answer a read .* within 300 ms: reconnecting/);
    expect(tail.position).toBe(cursor);
    await redis.xadd(key, '*', 'e', 'during');
    proxy.restore();
    const after = await tail.read(2_000);
    expect(after.map((e) => fieldOf(e.fields, 'e'))).toEqual(['during']);
  } finally {
    tail.close();
    await proxy.close();
  }
});
