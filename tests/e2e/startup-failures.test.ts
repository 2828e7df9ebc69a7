// What a new operator meets when something is wrong at start, with the real
// process (`node dist/main.js`): Redis down → one readable line and a non-zero
// exit within 30 s; a refused Slack token → a fix-it line naming the variable;
// Slack unreachable → said once, /readyz ready and saying so in its body.
import { jest } from '@jest/globals';
import { startHarness, type Harness } from '../support/dispatcher-harness.js';
import { dumpOutput, ensureDispatcherBuild, spawnReplica, type ReplicaProcess } from '../support/replica-process.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';

jest.setTimeout(90_000);

const projects = (workspace: string) => `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo hi"]
`;

let h: Harness;
const started: ReplicaProcess[] = [];
const spawned = async (env: Record<string, string>) => {
  const r = await spawnReplica(h, { env });
  started.push(r);
  return r;
};
/** Lines at warn or above (pino levels as labels: see observability/logger.ts). */
const loud = (r: ReplicaProcess) => r.logLines().filter((l) => ['warn', 'error', 'fatal'].includes(String(l.level)));

beforeAll(async () => {
  await ensureDispatcherBuild();
  h = await startHarness({ mode: 'socket', projectsYaml: projects, dispatcher: false });
});
afterEach(async () => {
  for (const r of started.splice(0)) {
    if (process.env.SHOW_REPLICA_OUTPUT) dumpOutput('replica', r);
    await r.kill('SIGKILL');
  }
});
afterAll(async () => {
  await h?.stop();
});

test('Redis down at start: exits non-zero within 30 s with one readable line, and no ioredis noise', async () => {
  const closed = await freePort();
  const began = Date.now();
  const replica = await spawned({ REDIS_URL: `redis://127.0.0.1:${closed}` });
  const { code } = await replica.exited;
  expect(Date.now() - began).toBeLessThan(30_000);
  expect(code).not.toBe(0);
  const said = loud(replica);
  expect(said).toHaveLength(1);
  expect(said[0]).toMatchObject({ level: 'fatal', code: 'REDIS_UNREACHABLE' });
  expect(String(said[0]?.msg)).toMatch(
    new RegExp(`Redis at 127\\.0\\.0\\.1:${closed} did not answer within \\d+ s \\(connect ECONNREFUSED .*\\): check REDIS_URL`),
  );
  expect(replica.output.join('')).not.toMatch(/Unhandled error event/);
});

test('a refused bot token stops the process with a fix-it line naming SLACK_BOT_TOKEN', async () => {
  const replica = await spawned({ SLACK_BOT_TOKEN: 'xoxb-your-bot-token' });
  const { code } = await replica.exited;
  expect(code).toBe(78);
  const said = loud(replica);
  expect(said).toHaveLength(1);
  expect(said[0]).toMatchObject({ level: 'fatal', code: 'SLACK_TOKEN_REJECTED' });
  expect(String(said[0]?.msg)).toMatch(
    /^Slack rejected SLACK_BOT_TOKEN \(invalid_auth from auth\.test at .*\): set SLACK_BOT_TOKEN to the bot token/,
  );
});

test('a refused app token names SLACK_APP_TOKEN', async () => {
  const replica = await spawned({ SLACK_APP_TOKEN: 'xapp-your-app-token' });
  expect((await replica.exited).code).toBe(78);
  expect(String(loud(replica)[0]?.msg)).toMatch(/^Slack rejected SLACK_APP_TOKEN \(invalid_auth from apps\.connections\.open/);
});

test('Slack unreachable: said once with URL and method, retried with back-off, /readyz ready and saying so', async () => {
  const closed = await freePort();
  const replica = await spawned({ SLACK_API_URL: `http://127.0.0.1:${closed}/api/`, LOG_LEVEL: 'debug' });
  await replica.ready();
  await eventually(
    async () => replica.logLines().filter((l) => /Slack is still unreachable/.test(String(l.msg))).length >= 2,
    'two retries',
    20_000,
  );
  const said = loud(replica);
  expect(said).toHaveLength(1);
  expect(said[0]).toMatchObject({ level: 'warn', url: `http://127.0.0.1:${closed}/api/auth.test`, method: 'auth.test' });
  const { status, body } = await replica.readyz();
  expect(status).toBe(200);
  expect(body).toMatch(
    /^slack \(not counted for readiness\): socket connecting since .*; no successful auth\.test yet; unreachable since .* \(auth\.test at .*: fetch failed.*\), retrying$/m,
  );
});

test('a healthy start: /readyz names the socket connection and the last good auth.test', async () => {
  const replica = await spawned({});
  await replica.ready();
  await eventually(async () => /socket connected since/.test((await replica.readyz()).body), 'the socket to be reported connected');
  expect((await replica.readyz()).body).toMatch(/last successful auth\.test at \d{4}-/);
  expect(loud(replica)).toEqual([]);
});
