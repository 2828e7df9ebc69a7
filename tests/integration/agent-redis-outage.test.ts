// The runner's side of a Redis outage: events wait in a bounded buffer, in
// order, and reach the stream once Redis is back (restarted with its AOF);
// the heartbeat resumes by itself. A redis-server of this test's own.
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { keys } from '../../src/domain/keys.js';
import type { AgentEvent } from '../../src/domain/events.js';
import { EventPublisher } from '../../src/agent/event-publisher.js';
import { startHeartbeat } from '../../src/agent/heartbeat.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';

jest.setTimeout(30_000);

const dataDir = mkdtempSync(join(tmpdir(), 'sb-agent-outage-'));
let port: number;
let server: ChildProcess | undefined;
let admin: Redis;
const k = keys('sbtest:outage:');

async function startRedis(): Promise<void> {
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes', '--save', ''], {
    stdio: 'ignore',
  });
  const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
  await probe.ping();
  probe.disconnect();
}

async function stopRedis(): Promise<void> {
  const s = server;
  if (!s || s.exitCode !== null) return;
  await new Promise((resolve) => {
    s.once('exit', resolve);
    s.kill('SIGTERM');
  });
}

/** The runner's connection, as src/agent/main.ts makes it (quicker retries). */
const agentConnection = () => new Redis({ port, enableReadyCheck: false, retryStrategy: () => 100, maxRetriesPerRequest: 3 });

const streamed = async (jobId: string): Promise<AgentEvent[]> =>
  (await admin.xrange(k.jobEvents(jobId), '-', '+')).map(([, fields]) => JSON.parse(fields[1] ?? '{}') as AgentEvent);

beforeAll(async () => {
  port = await freePort();
  await startRedis();
  admin = new Redis({ port, retryStrategy: () => 100, maxRetriesPerRequest: null });
});
afterAll(async () => {
  admin.disconnect();
  await stopRedis();
  rmSync(dataDir, { recursive: true, force: true });
});

test('through a Redis restart, events are buffered in order and written once it is back; the heartbeat resumes', async () => {
  const jobId = 'outage1';
  const redis = agentConnection();
  const logs: string[] = [];
  const publisher = new EventPublisher(redis, k, jobId, { retryMs: 50, maxRetryMs: 200, log: (m) => logs.push(m) });
  const stopHeartbeat = startHeartbeat(redis, k.jobHeartbeat(jobId), (e) => logs.push(`heartbeat: ${e.message}`));
  await publisher.publish({ type: 'progress', step: 1, total: 2, name: 'run agent' });
  await eventually(async () => (await admin.exists(k.jobHeartbeat(jobId))) === 1, 'the first heartbeat');

  await stopRedis();
  // The runner is not held up while Redis is away: each publish returns (buffered).
  for (let i = 0; i < 5; i++) await publisher.publish({ type: 'log', text: `line ${i}`, level: 'info' });
  await publisher.publish({ type: 'done', summary: 'fixed while Redis was away' });
  expect(publisher.buffered).toBeGreaterThanOrEqual(6);
  expect(logs.filter((l) => /Redis is unreachable/.test(l))).toHaveLength(1);

  await startRedis();
  expect(await publisher.drain(15_000)).toBe(true);
  const got = await streamed(jobId);
  expect(got.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  expect(got.map((e) => e.type)).toEqual(['progress', 'log', 'log', 'log', 'log', 'log', 'done']);
  expect(logs.some((l) => /Redis is back/.test(l))).toBe(true);
  // Beats go on by themselves (the restart lost the key: it had a TTL and AOF kept it, or it lapsed meanwhile).
  await admin.del(k.jobHeartbeat(jobId));
  await eventually(async () => (await admin.exists(k.jobHeartbeat(jobId))) === 1, 'the heartbeat to resume', 10_000);
  await stopHeartbeat();
  redis.disconnect();
});

test('the buffer is bounded: the oldest log events go first (counted), progress and the result never', async () => {
  const jobId = 'outage2';
  const redis = agentConnection();
  const publisher = new EventPublisher(redis, k, jobId, { retryMs: 50, maxRetryMs: 200, maxBuffered: 4 });
  await publisher.publish({ type: 'progress', step: 1, total: 2, name: 'run agent' });
  await stopRedis();
  for (let i = 0; i < 10; i++) await publisher.publish({ type: 'log', text: `line ${i}`, level: 'info' });
  await publisher.publish({ type: 'progress', step: 2, total: 2, name: 'finish' });
  await publisher.publish({ type: 'done', summary: 'kept' });
  expect(publisher.buffered).toBe(4);
  expect(publisher.dropped).toBe(8);

  await startRedis();
  expect(await publisher.drain(15_000)).toBe(true);
  const got = await streamed(jobId);
  expect(got.map((e) => e.type)).toEqual(['progress', 'log', 'log', 'progress', 'done']);
  // The one being written when Redis went is kept, then the newest, in order.
  expect(got.filter((e) => e.type === 'log').map((e) => (e.type === 'log' ? e.text : ''))).toEqual(['line 0', 'line 9']);
  redis.disconnect();
});
