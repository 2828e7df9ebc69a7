// KubernetesSpawner when the API server goes away (issue 11), against the API
// double through the drills' TCP proxy, which the test cuts and restores, or
// with the double's watch streams held open and silent: a lost watch never
// settles an agent's exit; the informers come back with back-off (one warning
// per outage), re-list after 410 Gone, and then report how the agent really
// ended. Pods run on the real Docker engine; the test kills one there.
import { jest } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { KubernetesSpawner } from '../../src/spawners/kubernetes/kubernetes-spawner.js';
import type { AgentExit, AgentSpec } from '../../src/spawners/spawner.js';
import { eventually } from '../support/eventually.js';
import { buildAgentFixtures, type FixtureImages } from '../support/fixtures/agent-images.js';
import { freePort } from '../support/free-port.js';
import { KubernetesApiDouble } from '../support/k8s-api/index.js';
import { LogTap } from '../support/log-tap.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

jest.setTimeout(60_000);

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
let double: KubernetesApiDouble;
let fixtures: FixtureImages;
let proxy: TcpProxy;
let proxyUrl: string;
let tap: LogTap;
let spawner: KubernetesSpawner;

const spec = (image: string): AgentSpec => {
  const jobId = randomBytes(6).toString('hex');
  return {
    jobId,
    project: 'demo',
    channel: 'C0K8SLOSS',
    user: 'U0ALICE',
    request: 'fix #58 in demo',
    image,
    redisUrl: 'redis://127.0.0.1:1',
    redisPrefix: 'sbtest:k8sloss:',
    env: { JOB_ID: jobId, PROJECT: 'demo', CHANNEL_ID: 'C0K8SLOSS', USER_ID: 'U0ALICE', REDIS_PREFIX: 'sbtest:k8sloss:' },
    resources: { cpus: 0.25, memoryBytes: 128 * 1024 * 1024 },
    timeoutSeconds: 600,
  };
};

/** The double's credentials, but its server reached through the proxy. */
function kubeConfigViaProxy(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'double', server: proxyUrl, skipTLSVerify: true }],
    users: [{ name: 'switchboard', token: double.token }],
    contexts: [{ name: 'double', cluster: 'double', user: 'switchboard', namespace: double.namespace }],
    currentContext: 'double',
  });
  return kc;
}

const runningPod = (job: string) =>
  eventually(
    async () => double.pods().find((p) => p.metadata.labels?.['job-name'] === job && p.status?.phase === 'Running'),
    'the running pod',
  );

beforeAll(async () => {
  const port = await freePort();
  [double, fixtures] = await Promise.all([KubernetesApiDouble.start({ network: 'none' }), buildAgentFixtures(['hanging'])]);
  const target = new URL(double.url);
  proxy = await startTcpProxy({ listen: { host: '127.0.0.1', port }, target: { host: target.hostname, port: Number(target.port) } });
  proxyUrl = `http://127.0.0.1:${port}`;
});

beforeEach(() => {
  proxy.restore();
  tap = new LogTap();
  spawner = new KubernetesSpawner({
    connection: { kubeConfig: kubeConfigViaProxy(), namespace: double.namespace, server: proxyUrl },
    logger: tap.logger,
    terminationGraceSeconds: 1,
    rewatchDelayMs: 100,
    apiWaitMs: 5_000,
    resyncMs: 500,
  });
});

afterEach(async () => {
  await spawner.close();
});

afterAll(async () => {
  await proxy?.close();
  await double?.stop();
  await fixtures?.remove();
});

test('an agent that ends while the API server is away is reported ended, with its real code, only once the watches are back', async () => {
  const handle = await spawner.start(spec(fixtures.tag('hanging')));
  const pod = await runningPod(handle.ref);
  const seen: { exit?: AgentExit } = {};
  void handle.exited.then((e) => (seen.exit = e));

  const from = tap.mark();
  proxy.cut('reset');
  await tap.next(/Kubernetes watch failed/, { from });
  // The agent dies meanwhile; the history is compacted too, so the watches must list afresh (410 Gone).
  const [container] = await docker.listContainers({ filters: JSON.stringify({ label: [`io.kubernetes.pod.name=${pod.metadata.name}`] }) });
  await docker.getContainer(container!.Id).kill();
  await eventually(
    async () => double.pods().some((p) => p.metadata.name === pod.metadata.name && p.status?.phase === 'Failed'),
    'the pod failed',
  );
  double.compact();
  // Tries again, and again, in vain: still no exit is made up.
  await tap.next(/Kubernetes watch still failing/, { from });
  expect(seen.exit).toBeUndefined();

  proxy.restore();
  await expect(handle.exited).resolves.toMatchObject({ exitCode: 137 });
  await tap.next(/Kubernetes watch restored/, { from });
  // One warning per informer per outage, not one per try.
  expect(tap.seen(/Kubernetes watch failed/).filter((l) => l.level === 'warn')).toHaveLength(2);
});

test('a running agent survives the API server going away: it is followed again afterwards, not taken for ended', async () => {
  const handle = await spawner.start(spec(fixtures.tag('hanging')));
  await runningPod(handle.ref);
  const seen: { exit?: AgentExit } = {};
  void handle.exited.then((e) => (seen.exit = e));

  const from = tap.mark();
  proxy.cut('reset');
  await tap.next(/Kubernetes watch still failing/, { from });
  proxy.restore();
  await tap.next(/Kubernetes watch restored/, { from });
  expect(seen.exit).toBeUndefined();

  await spawner.stop(handle.jobId, 0);
  await expect(handle.exited).resolves.toMatchObject({ exitCode: 137 });
});

test('a watch that goes silent (held open, no error) does not hide the end: a direct read finds it', async () => {
  const handle = await spawner.start(spec(fixtures.tag('hanging')));
  const pod = await runningPod(handle.ref);

  // Held open, not closed: the informers see no error and keep waiting on streams that will never speak again.
  const from = tap.mark();
  double.muteWatches();
  const [container] = await docker.listContainers({ filters: JSON.stringify({ label: [`io.kubernetes.pod.name=${pod.metadata.name}`] }) });
  await docker.getContainer(container!.Id).kill();
  await expect(handle.exited).resolves.toMatchObject({ exitCode: 137 });
  expect(tap.seen(/the watch missed the end of an agent: a direct read found it/).length).toBeGreaterThan(0);
  expect(tap.lines.slice(from).some((l) => /Kubernetes watch failed/.test(l.msg))).toBe(false);
});

test('start() while the API server is away waits for it, then creates exactly one Job', async () => {
  const s = spec(fixtures.tag('hanging'));
  const from = tap.mark();
  proxy.cut('reset');
  const starting = spawner.start(s);
  await tap.next(/will try to start the agent again/, { from });
  proxy.restore();

  const handle = await starting;
  expect(
    double
      .jobs()
      .filter((j) => j.metadata.labels?.['switchboard.job-id'] === s.jobId)
      .map((j) => j.metadata.name),
  ).toEqual([handle.ref]);
  await spawner.stop(s.jobId, 0);
  await expect(handle.exited).resolves.toBeDefined();
});
