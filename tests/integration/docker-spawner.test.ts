// DockerSpawner against the real engine, with failure fixtures built from the
// real agent image: names, labels and arguments of DESIGN §5, adoption of a
// job's existing container, exit codes that survive AutoRemove, and readable
// errors when the engine or the image is missing.
import { jest } from '@jest/globals';
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { DockerSpawner } from '../../src/spawners/docker/docker-spawner.js';
import type { AgentSpec } from '../../src/spawners/spawner.js';
import { silentLogger } from '../../src/observability/logger.js';
import { eventually } from '../support/eventually.js';
import { buildAgentFixtures, type FixtureImages } from '../support/fixtures/agent-images.js';
import { agentNetwork } from '../support/agent-network.js';
import { startDockerGate } from '../support/docker-gate.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { AGENT_PIDS_LIMIT } from '../../src/spawners/docker/agent-host-config.js';

jest.setTimeout(120_000);

const DOCKER_SOCKET = '/var/run/docker.sock';
const docker = new Docker({ socketPath: DOCKER_SOCKET });
const spawner = new DockerSpawner({ dockerHost: DOCKER_SOCKET, network: agentNetwork(), logger: silentLogger });
const run = randomBytes(3).toString('hex');
const jobIds: string[] = [];
let fixtures: FixtureImages;

/** A fresh 12-hex job id, remembered for cleanup. */
function newJobId(): string {
  const id = randomBytes(6).toString('hex');
  jobIds.push(id);
  return id;
}

function spec(jobId: string, image: string): AgentSpec {
  return {
    jobId,
    project: 'demo',
    channel: `C0SPAWN${run.toUpperCase()}`,
    user: 'U0ALICE',
    request: 'fix #58 in demo',
    image,
    redisUrl: 'redis://127.0.0.1:6379',
    redisPrefix: 'sbtest:spawner:',
    env: { JOB_ID: jobId, PROJECT: 'demo', CHANNEL_ID: `C0SPAWN${run.toUpperCase()}`, USER_ID: 'U0ALICE', REDIS_PREFIX: 'sbtest:spawner:' },
    resources: { cpus: 0.5, memoryBytes: 256 * 1024 * 1024 },
  };
}

const containersOf = (jobId: string) =>
  docker.listContainers({ all: true, filters: JSON.stringify({ label: [`switchboard.job-id=${jobId}`] }) });

beforeAll(async () => {
  fixtures = await buildAgentFixtures(['crashing', 'hanging', 'rooted', 'unstartable']);
});

afterAll(async () => {
  for (const id of jobIds) {
    await docker
      .getContainer(`switchboard-job-${id}`)
      .remove({ force: true })
      .catch(() => undefined);
  }
  await fixtures?.remove();
});

test("start() runs the agent under the job's name, with the labels and arguments of the contract", async () => {
  const jobId = newJobId();
  const s = spec(jobId, fixtures.tag('hanging'));
  const handle = await spawner.start(s);
  expect(handle).toMatchObject({ jobId, adopted: false });

  const info = await docker.getContainer(handle.ref).inspect();
  expect(info.Name).toBe(`/switchboard-job-${jobId}`);
  expect(info.State.Running).toBe(true);
  expect(info.Config.Labels).toMatchObject({
    'switchboard.job-id': jobId,
    'switchboard.project': 'demo',
    'switchboard.channel': s.channel,
    'app.kubernetes.io/managed-by': 'switchboard',
  });
  expect(info.Config.Cmd).toEqual([
    '--headless',
    '--job-id',
    jobId,
    '--redis-url',
    s.redisUrl,
    '--platform',
    'slack',
    '--channel-id',
    s.channel,
    'fix #58 in demo',
  ]);
  expect(info.Config.Env).toEqual(
    expect.arrayContaining([
      `JOB_ID=${jobId}`,
      'PROJECT=demo',
      `CHANNEL_ID=${s.channel}`,
      'USER_ID=U0ALICE',
      'REDIS_PREFIX=sbtest:spawner:',
    ]),
  );
  expect(info.HostConfig.AutoRemove).toBe(true);
  expect(info.HostConfig.NetworkMode).toBe(agentNetwork());
  // Hardening (issue 5): every setting, as the engine applied it.
  expect(info.Config.User).toBe('node');
  expect(info.HostConfig.CapDrop).toEqual(['ALL']);
  expect(info.HostConfig.CapAdd ?? []).toEqual([]);
  expect(info.HostConfig.Privileged).toBe(false);
  expect(info.HostConfig.SecurityOpt).toEqual(['no-new-privileges:true']);
  expect(info.HostConfig.PidsLimit).toBe(AGENT_PIDS_LIMIT);
  expect(info.HostConfig.ReadonlyRootfs).toBe(true);
  expect(info.HostConfig.Tmpfs).toEqual({ '/tmp': expect.stringContaining('rw') });
  expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
  expect(info.HostConfig.MemorySwap).toBe(256 * 1024 * 1024);
  expect(info.HostConfig.NanoCpus).toBe(0.5e9);
  expect(info.HostConfig.Init).toBe(true);
  expect(info.HostConfig.Binds ?? []).toEqual([]);
  expect(info.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Destination: '/workspace', RW: true })]);
  // Inside: not root, no capabilities, /workspace and /tmp writable, the rest not.
  const probe = await execIn(handle.ref, [
    'sh',
    '-c',
    'id -u; grep CapEff /proc/self/status; touch /workspace/w && echo ws-ok; touch /tmp/t && echo tmp-ok; touch /app/x 2>/dev/null || echo root-ro; grep NoNewPrivs /proc/self/status',
  ]);
  expect(probe.split('\n')).toEqual(['1000', 'CapEff:\t0000000000000000', 'ws-ok', 'tmp-ok', 'root-ro', 'NoNewPrivs:\t1', '']);

  await spawner.stop(jobId, 1);
  // SIGTERM is ignored by the fixture's sleeping PID 1: the grace ends in a kill.
  expect(await handle.exited).toMatchObject({ exitCode: 137 });
  await eventually(async () => (await containersOf(jobId)).length === 0, 'the stopped container to be removed');
});

test('a second start() for the same job adopts the running container instead of starting another', async () => {
  const jobId = newJobId();
  const first = await spawner.start(spec(jobId, fixtures.tag('hanging')));
  const second = await spawner.start(spec(jobId, fixtures.tag('hanging')));

  expect(first.adopted).toBe(false);
  expect(second.adopted).toBe(true);
  expect(second.ref).toBe(first.ref);
  const list = await containersOf(jobId);
  expect(list.map((c) => c.Id)).toEqual([first.ref]);

  // The adopted handle follows the same container to its end.
  await spawner.stop(jobId, 1);
  const [a, b] = await Promise.all([first.exited, second.exited]);
  expect(a.exitCode).toBe(137);
  expect(b.exitCode).toBe(137);
});

test('a start that finds its container already started by another call (304) follows that agent and never removes it', async () => {
  const jobId = newJobId();
  // A reaches the engine through a gate that holds its start until B has adopted the container and started it.
  const gate = await startDockerGate({
    socketPath: join(tmpdir(), `sb-gate-${run}.sock`),
    hold: (method, path) => method === 'POST' && /^\/containers\/[^/]+\/start/.test(path),
  });
  const a = new DockerSpawner({ dockerHost: gate.socketPath, network: agentNetwork(), logger: silentLogger });
  try {
    const starting = a.start(spec(jobId, fixtures.tag('hanging')));
    await gate.held();
    const b = await spawner.start(spec(jobId, fixtures.tag('hanging')));
    expect(b.adopted).toBe(true);
    expect(await gate.release()).toBe(304);
    const first = await starting;
    expect(first.ref).toBe(b.ref);
    const [info] = await containersOf(jobId);
    expect(info).toMatchObject({ Id: b.ref, State: 'running' });
    expect(await containersOf(jobId)).toHaveLength(1);

    // One agent, and both handles follow it to its end.
    await spawner.stop(jobId, 1);
    const [x, y] = await Promise.all([first.exited, b.exited]);
    expect([x.exitCode, y.exitCode]).toEqual([137, 137]);
  } finally {
    await a.close();
    await gate.close();
  }
});

test('the exit code of a container that exits at once is not lost to AutoRemove', async () => {
  const jobId = newJobId();
  const handle = await spawner.start(spec(jobId, fixtures.tag('crashing')));

  expect(await handle.exited).toEqual({ exitCode: 3, detail: undefined });
  await eventually(async () => (await containersOf(jobId)).length === 0, 'the exited container to be removed');
});

test('stop() of a job without a container is fine', async () => {
  await expect(spawner.stop(newJobId(), 1)).resolves.toBeUndefined();
});

test('ping() answers for the real engine, and names the host when the engine is not there', async () => {
  await expect(spawner.ping()).resolves.toBeUndefined();

  const nowhere = new DockerSpawner({ dockerHost: '/nonexistent.sock', network: agentNetwork(), logger: silentLogger });
  await expect(nowhere.ping()).rejects.toThrow(/^Docker engine at \/nonexistent\.sock does not answer: .*ENOENT/);
});

test('a missing image is reported with how to build it, and leaves no container behind', async () => {
  const jobId = newJobId();
  const image = `switchboard-agent-fixture:missing-${run}`;

  await expect(spawner.start(spec(jobId, image))).rejects.toThrow(
    `agent image ${image} is not on the Docker engine: build it (docker build --target agent -t ${image} .) or set AGENT_IMAGE`,
  );
  expect(await containersOf(jobId)).toHaveLength(0);
});

test('an image whose user is root is refused with the reason, before any container exists', async () => {
  const jobId = newJobId();
  await expect(spawner.start(spec(jobId, fixtures.tag('rooted')))).rejects.toThrow(
    /runs as root \(USER "root"\): agents never run as root/,
  );
  expect(await containersOf(jobId)).toHaveLength(0);
});

test('a container whose start fails is removed, not left behind', async () => {
  const jobId = newJobId();
  await expect(spawner.start(spec(jobId, fixtures.tag('unstartable')))).rejects.toThrow(
    `the agent container for job ${jobId} could not start`,
  );
  expect(await containersOf(jobId)).toHaveLength(0);
});

test("the agents' network is created when it is missing; host and none are refused", async () => {
  const name = `sbtest-agents-new-${run}`;
  const own = new DockerSpawner({ dockerHost: DOCKER_SOCKET, network: name, logger: silentLogger });
  try {
    await own.ensureNetwork();
    const info = await docker.getNetwork(name).inspect();
    expect(info).toMatchObject({ Name: name, Driver: 'bridge' });
    await expect(own.ensureNetwork()).resolves.toBeUndefined();
  } finally {
    await docker
      .getNetwork(name)
      .remove()
      .catch(() => undefined);
  }
  expect(() => new DockerSpawner({ dockerHost: DOCKER_SOCKET, network: 'host', logger: silentLogger })).toThrow(
    /may not use the host network/,
  );
  expect(() => new DockerSpawner({ dockerHost: DOCKER_SOCKET, network: 'none', logger: silentLogger })).toThrow(
    /may not use the none network/,
  );
});

/** Runs a command in a running container; resolves with its stdout. */
async function execIn(containerId: string, cmd: string[]): Promise<string> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out: Buffer[] = [];
  const stdout = { write: (b: Buffer) => out.push(b) } as unknown as NodeJS.WritableStream;
  docker.modem.demuxStream(stream, stdout, { write: () => true } as unknown as NodeJS.WritableStream);
  await new Promise((resolve) => stream.on('end', resolve));
  return Buffer.concat(out).toString();
}
