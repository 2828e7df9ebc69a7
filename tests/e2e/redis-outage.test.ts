// While Redis is down, people who ask are told "try again in a minute" (not
// silence), and a replica told to stop hands back what it can by its
// deadline, names what it could not, and never stops an agent. A
// redis-server of this test's own, stopped and started by the test.
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { agentNetworkGateway } from '../support/agent-network.js';

jest.setTimeout(90_000);

const projects = (workspace: string) => `
projects:
  ticker:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "for i in $(seq 1 60); do echo tick $i; sleep 0.5; done"]
`;

const UNAVAILABLE = /temporarily unavailable .* try again in a minute/;
const dataDir = mkdtempSync(join(tmpdir(), 'sb-redis-outage-'));
let port: number;
let server: ChildProcess | undefined;
let h: Harness | undefined;

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
      '--protected-mode',
      'no',
    ],
    {
      stdio: 'ignore',
    },
  );
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
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

beforeAll(async () => {
  port = await freePort();
  await startRedis();
  h = await startHarness({
    mode: 'socket',
    projectsYaml: projects,
    redis: { url: `redis://127.0.0.1:${port}`, agentUrl: `redis://${agentNetworkGateway()}:${port}` },
    stopDeadlineMs: 3000,
  });
});
afterAll(async () => {
  if (server?.exitCode !== null) await startRedis(); // the harness cleans up its keys and agents there
  await h?.stop();
  await stopRedis();
  rmSync(dataDir, { recursive: true, force: true });
});

test('while Redis is down a mention and the slash command are told to try again in a minute; once it is back a request starts a job', async () => {
  const harness = h as Harness;
  const { emu } = harness;
  await stopRedis();

  const mention = await emu.userSays({ channel: 'C0OUTAGE', user: 'U0ALICE', text: `<@${emu.botUserId}> fix #3 in ticker` });
  const told = await emu.waitFor(() => botReplies(harness, 'C0OUTAGE', mention.ts)[0], {
    what: 'an answer while Redis is down',
    timeoutMs: 10_000,
  });
  expect(told.text).toMatch(UNAVAILABLE);
  const { response_url } = await emu.slashCommand({ channel: 'C0OUTAGE', user: 'U0ALICE', text: 'status' });
  const ephemeral = await emu.waitFor(() => emu.responses().find((r) => r.url === response_url), {
    what: 'the slash command’s answer',
    timeoutMs: 10_000,
  });
  expect(JSON.stringify(ephemeral.body)).toMatch(UNAVAILABLE);
  // A channel message not addressed to the bot stays unanswered, as always.
  const chatter = await emu.userSays({ channel: 'C0OUTAGE', user: 'U0BOB', text: 'lunch anyone?' });
  expect(await harness.containers('C0OUTAGE')).toEqual([]);

  await startRedis();
  const again = await eventually(
    async () => {
      const asked = await emu.userSays({ channel: 'C0OUTAGE', user: 'U0ALICE', text: `<@${emu.botUserId}> status` });
      const answer = await emu.waitFor(() => botReplies(harness, 'C0OUTAGE', asked.ts)[0], {
        what: 'an answer after Redis came back',
        timeoutMs: 10_000,
      });
      return UNAVAILABLE.test(answer.text ?? '') ? undefined : answer;
    },
    'a normal answer once Redis is back',
    30_000,
  );
  expect(again.text).not.toMatch(UNAVAILABLE);
  expect(botReplies(harness, 'C0OUTAGE', chatter.ts)).toEqual([]);
});

test('stopped while Redis is down, a replica returns by its deadline and leaves the agent running', async () => {
  const harness = h as Harness;
  await harness.emu.userSays({ channel: 'C0STOPPING', user: 'U0ALICE', text: 'fix #4 in ticker' });
  const container = await eventually(
    async () => (await harness.containers('C0STOPPING')).find((c) => c.State === 'running'),
    'the agent running',
  );
  await stopRedis();

  const began = Date.now();
  await harness.dispatcher?.stop();
  // 3 s deadline (stopDeadlineMs) plus closing what is left; never the 20+ s an unbounded hand-back would wait.
  expect(Date.now() - began).toBeLessThan(10_000);
  const inspected = await harness.docker.getContainer(container.Id).inspect();
  expect(inspected.State.Running).toBe(true);
});
