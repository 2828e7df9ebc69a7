// ACL users are not kept by AOF or RDB: after a Redis restart, the dispatcher
// re-creates the users of live jobs from the password hashes it kept, and a
// running agent carries on publishing with its own user, re-created exactly
// as it was (not widened). This test restarts a redis-server of its own.
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { agentNetworkGateway } from '../support/agent-network.js';

jest.setTimeout(120_000);

const projects = (workspace: string) => `
projects:
  ticker:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "for i in $(seq 1 24); do echo tick $i; sleep 0.5; done; echo 'Opened https://github.com/acme/ticker/pull/3'"]
`;

const dataDir = mkdtempSync(join(tmpdir(), 'sb-redis-restart-'));
const password = randomBytes(12).toString('hex');
let port: number;
let server: ChildProcess | undefined;
let h: Harness | undefined;
let admin: Redis;

/** Starts (or restarts) this test's redis-server: AOF on, `default` off, reachable from the agents' network. */
async function startRedis(): Promise<void> {
  server = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      agentNetworkGateway(),
      '--dir',
      dataDir,
      '--appendonly',
      'yes',
      '--save',
      '',
      '--user',
      'sbtest',
      'on',
      `>${password}`,
      '~*',
      '&*',
      '+@all',
      '--user',
      'default',
      'off',
    ],
    { stdio: 'ignore' },
  );
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    username: 'sbtest',
    password,
    lazyConnect: true,
    retryStrategy: () => 50,
    maxRetriesPerRequest: null,
  });
  await probe.ping();
  probe.disconnect();
}

async function stopRedis(): Promise<void> {
  const s = server;
  if (!s || s.exitCode !== null) return;
  await new Promise((resolve) => {
    s.once('exit', resolve);
    s.kill('SIGTERM'); // a clean shutdown: the AOF keeps the data, never the ACL users made at run time
  });
}

/** ACL GETUSER's reply as a map; the order of commands is the server's hash order, so sorted. */
function rulesOf(reply: unknown[]): Record<string, unknown> {
  const rules: Record<string, unknown> = {};
  for (let i = 0; i < reply.length; i += 2) rules[String(reply[i])] = reply[i + 1];
  rules.commands = String(rules.commands).split(' ').sort();
  return rules;
}

beforeAll(async () => {
  port = await freePort();
  await startRedis();
  const url = `redis://sbtest:${password}@127.0.0.1:${port}`;
  admin = new Redis(url, { retryStrategy: () => 100 });
  h = await startHarness({ mode: 'socket', projectsYaml: projects, redis: { url, agentUrl: `redis://${agentNetworkGateway()}:${port}` } });
});
afterAll(async () => {
  await h?.stop();
  admin?.disconnect();
  await stopRedis();
  rmSync(dataDir, { recursive: true, force: true });
});

test('after a Redis restart, a running agent keeps publishing with its own user, re-created and not widened', async () => {
  const harness = h as Harness;
  const request = await harness.emu.userSays({ channel: 'C0RESTART', user: 'U0ALICE', text: 'fix #3 in ticker' });
  const container = await eventually(async () => (await harness.containers('C0RESTART'))[0], 'the ticker agent container');
  const jobId = container.Labels['switchboard.job-id'] ?? '';
  const events = `${harness.prefix}job:${jobId}:events`;
  const before = await eventually(
    async () => (await admin.call('ACL', 'GETUSER', `job-${jobId}`)) as unknown[] | null,
    "the job's Redis user",
  );
  await eventually(async () => (await admin.xlen(events)) >= 3, "the agent's first events");

  const lastBefore = (await admin.xrevrange(events, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0';
  await stopRedis();
  await startRedis();

  // Re-created by the dispatcher when its connection came back, with the very same rules and password hash.
  const after = await eventually(
    async () => (await admin.call('ACL', 'GETUSER', `job-${jobId}`)) as unknown[] | null,
    "the job's user to be re-created",
  );
  expect(rulesOf(after)).toEqual(rulesOf(before));
  // The agent is back with its own user, and its events keep coming.
  await eventually(
    async () => String(await admin.call('CLIENT', 'LIST')).includes(`user=job-${jobId}`),
    'the agent to reconnect as its own user',
  );
  const result = await harness.emu.waitFor(() => botReplies(harness, 'C0RESTART', request.ts).find((m) => /is done/.test(m.text ?? '')), {
    what: 'the job to finish after the restart',
    timeoutMs: 60_000,
  });
  expect(result.text).toContain('https://github.com/acme/ticker/pull/3');
  const later = await admin.xrange(events, `(${lastBefore}`, '+');
  expect(later.length).toBeGreaterThan(0);
  expect(later.map(([, fields]) => JSON.parse(fields[1] ?? '{}') as { type: string }).map((e) => e.type)).toContain('done');

  await eventually(async () => (await admin.call('ACL', 'GETUSER', `job-${jobId}`)) === null, 'the user to be deleted when the job ended');
});
