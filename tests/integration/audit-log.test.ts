// The audit trail against the real Redis: entries read back, the stream stays
// capped, every entry is also a log line, and a Redis failure never throws.
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { AuditLog, AUDIT_TEXT_LIMIT } from '../../src/state/audit-log.js';
import { keys } from '../../src/domain/keys.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { freePort } from '../support/free-port.js';

const prefix = uniquePrefix();
const k = keys(prefix);
let redis: Redis;

/** A logger whose JSON lines are kept for the test to read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger('info', sink), lines };
}

beforeAll(() => {
  redis = new Redis(redisUrl());
});

afterAll(async () => {
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
});

test('records who, what, where and the outcome under the prefix, newest first, and logs each', async () => {
  const { log, lines } = capturingLogger();
  const audit = new AuditLog(redis, k, log);
  const before = Date.now();

  await audit.record({
    user: 'U0ALICE',
    team: 'T0ACME',
    kind: 'command',
    action: 'fix',
    channel: 'C0BILLING',
    surface: 'mention',
    outcome: 'started',
    jobId: 'j0000000001',
    text: 'fix #58 in billing-api',
  });
  await audit.record({
    user: 'U0BOB',
    kind: 'button',
    action: 'job.cancel',
    channel: 'C0BILLING',
    thread: '1700000000.000100',
    surface: 'button',
    outcome: 'refused',
    jobId: 'j0000000001',
    text: 'j0000000001',
  });

  expect(k.audit).toBe(`${prefix}audit`);
  const entries = await audit.recent();
  expect(entries).toHaveLength(2);
  expect(entries[0]).toEqual({
    id: expect.any(String),
    at: expect.any(Number),
    user: 'U0BOB',
    kind: 'button',
    action: 'job.cancel',
    channel: 'C0BILLING',
    thread: '1700000000.000100',
    surface: 'button',
    outcome: 'refused',
    jobId: 'j0000000001',
    text: 'j0000000001',
  });
  expect(entries[1]).toMatchObject({
    user: 'U0ALICE',
    team: 'T0ACME',
    kind: 'command',
    action: 'fix',
    outcome: 'started',
    text: 'fix #58 in billing-api',
  });
  expect(entries[1]?.at).toBeGreaterThanOrEqual(before);
  expect(entries[1]).not.toHaveProperty('thread');

  // The same as a log line each, for whoever reads logs rather than Redis.
  const logged = lines.filter((l) => l.audit);
  expect(logged).toHaveLength(2);
  expect(logged[0]).toMatchObject({
    level: 'info',
    msg: 'audit: command fix by U0ALICE → started',
    audit: { user: 'U0ALICE', channel: 'C0BILLING', outcome: 'started' },
  });
});

test('long text is shortened, and the stream stays capped (MAXLEN ~)', async () => {
  const capped = keys(`${prefix}capped:`);
  const audit = new AuditLog(redis, capped, silentLogger, 100);
  await audit.record({ user: 'U1', kind: 'command', action: 'unknown', outcome: 'not-understood', text: 'x'.repeat(10_000) });
  expect((await audit.recent(1))[0]?.text).toHaveLength(AUDIT_TEXT_LIMIT);

  for (let i = 0; i < 600; i++) await audit.record({ user: 'U1', kind: 'command', action: 'status', outcome: 'answered' });
  const length = await redis.xlen(capped.audit);
  // ~ trims whole stream nodes (100 entries each by default), so a little over the cap is expected.
  expect(length).toBeGreaterThanOrEqual(100);
  expect(length).toBeLessThanOrEqual(200);
});

test('when Redis cannot take the entry, record() does not throw: the entry and the error are logged', async () => {
  const { log, lines } = capturingLogger();
  const port = await freePort();
  const down = new Redis({ port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  down.on('error', () => undefined);
  try {
    await expect(
      new AuditLog(down, k, log).record({ user: 'U1', kind: 'button', action: 'job.retry', outcome: 'started' }),
    ).resolves.toBeUndefined();
  } finally {
    down.disconnect();
  }
  const error = lines.find((l) => l.level === 'error');
  expect(error).toMatchObject({
    msg: expect.stringContaining('audit entry could not be written'),
    audit: { action: 'job.retry' },
    err: expect.any(Object),
  });
});
