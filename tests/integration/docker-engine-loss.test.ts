// DockerSpawner when the engine goes away (issue 11): the spawner talks to the
// real engine through a unix-socket proxy that the test cuts (connections
// reset, or held silent) and restores; the test itself acts on the engine
// through the real socket. A lost `wait` must never pass for an exit: the
// job's channel would be freed while its agent still runs. Never restarts
// the engine.
import { jest } from '@jest/globals';
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerSpawner } from '../../src/spawners/docker/docker-spawner.js';
import type { AgentExit, AgentHandle, AgentSpec } from '../../src/spawners/spawner.js';
import { agentNetwork } from '../support/agent-network.js';
import { eventually } from '../support/eventually.js';
import { buildAgentFixtures, type FixtureImages } from '../support/fixtures/agent-images.js';
import { LogTap } from '../support/log-tap.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

jest.setTimeout(60_000);

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const run = randomBytes(3).toString('hex');
const proxySocket = join(tmpdir(), `sb-docker-proxy-${run}.sock`);
const ENGINE_WAIT_MS = 4_000;
let proxy: TcpProxy;
let fixtures: FixtureImages;
let tap: LogTap;
let spawner: DockerSpawner;
const jobIds: string[] = [];

function spec(): AgentSpec {
  const jobId = randomBytes(6).toString('hex');
  jobIds.push(jobId);
  const channel = `C0LOSS${run.toUpperCase()}`;
  return {
    jobId,
    project: 'demo',
    channel,
    user: 'U0ALICE',
    request: 'fix #58 in demo',
    image: fixtures.tag('hanging'),
    redisUrl: 'redis://127.0.0.1:1',
    redisPrefix: 'sbtest:loss:',
    env: { JOB_ID: jobId, PROJECT: 'demo', CHANNEL_ID: channel, USER_ID: 'U0ALICE', REDIS_PREFIX: 'sbtest:loss:' },
    resources: { cpus: 0.25, memoryBytes: 128 * 1024 * 1024 },
  };
}

const containersOf = (jobId: string) =>
  docker.listContainers({ all: true, filters: JSON.stringify({ label: [`switchboard.job-id=${jobId}`] }) });
const gone = (jobId: string) => eventually(async () => (await containersOf(jobId)).length === 0, 'the container to be removed');

/** Records whether an exit has been reported, to check it has not (yet). */
function track(handle: AgentHandle): { exit?: AgentExit } {
  const seen: { exit?: AgentExit } = {};
  void handle.exited.then((e) => (seen.exit = e));
  return seen;
}

beforeAll(async () => {
  [fixtures, proxy] = await Promise.all([
    buildAgentFixtures(['hanging']),
    startTcpProxy({ listen: { path: proxySocket }, target: { path: '/var/run/docker.sock' } }),
  ]);
});

beforeEach(() => {
  proxy.restore();
  tap = new LogTap();
  spawner = new DockerSpawner({
    dockerHost: proxySocket,
    network: agentNetwork(),
    logger: tap.logger,
    probeTimeoutMs: 500,
    exitCheckMs: 500,
    engineWaitMs: ENGINE_WAIT_MS,
    backoff: { firstMs: 50, maxMs: 400 },
  });
});

afterEach(async () => {
  await spawner.close();
});

afterAll(async () => {
  await proxy?.close();
  for (const id of jobIds)
    await docker
      .getContainer(`switchboard-job-${id}`)
      .remove({ force: true })
      .catch(() => undefined);
  await fixtures?.remove();
});

test('a dropped socket while the agent runs: no exit is reported, the spawner re-attaches, and the real exit comes later', async () => {
  const handle = await spawner.start(spec());
  const seen = track(handle);

  const from = tap.mark();
  proxy.cut('reset');
  await tap.next(/lost the wait on the agent container/, { from });
  await tap.next(/Docker engine does not answer/, { from });
  expect(seen.exit).toBeUndefined();
  expect((await docker.getContainer(handle.ref).inspect()).State.Running).toBe(true);

  proxy.restore();
  await tap.next(/re-attached to the agent container: it still runs/, { from });
  expect(seen.exit).toBeUndefined();

  await docker.getContainer(handle.ref).kill();
  await expect(handle.exited).resolves.toEqual({ exitCode: 137, detail: expect.stringMatching(/^it was killed/) });
});

test('an agent that ends while the engine is away is reported ended only once the engine answers again', async () => {
  const s = spec();
  const handle = await spawner.start(s);
  const seen = track(handle);

  const from = tap.mark();
  proxy.cut('reset');
  await tap.next(/Docker engine does not answer/, { from });
  await docker.getContainer(handle.ref).kill();
  await gone(s.jobId);
  expect(seen.exit).toBeUndefined();

  proxy.restore();
  await expect(handle.exited).resolves.toEqual({
    exitCode: null,
    detail: expect.stringContaining('removed while the engine could not be asked'),
  });
});

test('a socket that goes silent (no reset) is noticed by the periodic look, and the exit is still learned', async () => {
  const s = spec();
  const handle = await spawner.start(s);
  const seen = track(handle);

  const from = tap.mark();
  proxy.cut('blackhole');
  await tap.next(/lost the wait on the agent container/, { from });
  await docker.getContainer(handle.ref).kill();
  await gone(s.jobId);
  expect(seen.exit).toBeUndefined();

  proxy.restore();
  await expect(handle.exited).resolves.toMatchObject({ exitCode: null });
});

test('start() while the engine is away waits for it, then runs exactly one agent', async () => {
  const s = spec();
  const from = tap.mark();
  proxy.cut('reset');
  const starting = spawner.start(s);
  await tap.next(/will try to start the agent again/, { from });
  proxy.restore();

  const handle = await starting;
  expect((await containersOf(s.jobId)).map((c) => c.Id)).toEqual([handle.ref]);
  expect((await docker.getContainer(handle.ref).inspect()).State.Running).toBe(true);
  await spawner.stop(s.jobId, 0);
  await expect(handle.exited).resolves.toMatchObject({ exitCode: 137 });
});

test('start() gives up after its wait with a reason a user can read, and leaves no container', async () => {
  const s = spec();
  proxy.cut('reset');
  const failure = await spawner.start(s).then(
    () => undefined,
    (err: unknown) => err as Error & { userText?: string },
  );
  expect(failure?.message).toMatch(new RegExp(`^Docker engine at ${proxySocket} does not answer \\(tried for \\d+ s\\)`));
  expect(failure?.userText).toMatch(/^the machine that runs agents did not answer for \d+ s; ask again in a minute$/);
  proxy.restore();
  expect(await containersOf(s.jobId)).toEqual([]);
});

test('stop() through a dropped socket stops the agent once the engine answers', async () => {
  const s = spec();
  const handle = await spawner.start(s);
  const from = tap.mark();
  proxy.cut('reset');
  const stopping = spawner.stop(s.jobId, 0);
  await tap.next(/will try to stop the agent again/, { from });
  proxy.restore();
  await stopping;
  await gone(s.jobId);
  // Its code is 137 when the wait was back before the stop, unknown (null) when the container went first.
  expect([137, null]).toContain((await handle.exited).exitCode);
});
