// KubernetesSpawner against the API double (pods run on the real Docker
// engine): what only Kubernetes has — the Secret, refusals, failure reasons in
// plain words, watches that survive a dropped stream and 410 Gone, RBAC errors.
import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { KubernetesSpawner, type KubernetesSpawnerOptions } from '../../src/spawners/kubernetes/kubernetes-spawner.js';
import { connectKube } from '../../src/spawners/kubernetes/kube-connection.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { AgentSpec } from '../../src/spawners/spawner.js';
import { KubernetesApiDouble } from '../support/k8s-api/index.js';
import { eventually } from '../support/eventually.js';
import { buildAgentFixtures, type FixtureImages } from '../support/fixtures/agent-images.js';

jest.setTimeout(60_000);

let double: KubernetesApiDouble;
let fixtures: FixtureImages;
const spawners: KubernetesSpawner[] = [];
const spawner = (options: Partial<KubernetesSpawnerOptions> = {}, namespace?: string) => {
  const s = new KubernetesSpawner({
    connection: connectKube({ namespace, env: { KUBECONFIG: double.kubeconfigFile() } }),
    logger: silentLogger,
    terminationGraceSeconds: 1,
    ...options,
  });
  spawners.push(s);
  return s;
};
const spec = (image: string, extra: Partial<AgentSpec> = {}): AgentSpec => {
  const jobId = randomBytes(6).toString('hex');
  return {
    jobId,
    project: 'demo',
    channel: 'C0K8S',
    user: 'U0ALICE',
    request: 'fix #58 in demo',
    image,
    redisUrl: 'redis://job-x:pa55word@127.0.0.1:6379',
    redisPrefix: 'sbtest:k8s:',
    env: {
      JOB_ID: jobId,
      PROJECT: 'demo',
      CHANNEL_ID: 'C0K8S',
      USER_ID: 'U0ALICE',
      REDIS_PREFIX: 'sbtest:k8s:',
      SWITCHBOARD_SECRET_NAMES: 'GITHUB_TOKEN',
      GITHUB_TOKEN: 'ghp_s3cret',
    },
    resources: { cpus: 0.5, memoryBytes: 256 * 1024 * 1024 },
    timeoutSeconds: 600,
    ...extra,
  };
};

beforeAll(async () => {
  [double, fixtures] = await Promise.all([
    KubernetesApiDouble.start({ network: 'none', capacity: { cpu: 4 } }),
    buildAgentFixtures(['hanging', 'crashing']),
  ]);
});
afterAll(async () => {
  await Promise.all(spawners.map((s) => s.close()));
  await double?.stop();
  await fixtures?.remove();
});

test('the Job carries no secret value; its Secret holds them, owned by the Job', async () => {
  const s = spec(fixtures.tag('crashing'));
  const handle = await spawner().start(s);
  const job = double.jobs().find((j) => j.metadata.name === handle.ref)!;
  expect(JSON.stringify(job)).not.toMatch(/pa55word|ghp_s3cret/);
  const secret = double.secrets().find((x) => x.metadata.name === `${handle.ref}-env`)!;
  const data = Object.fromEntries(
    Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );
  expect(data).toEqual({ SWITCHBOARD_REDIS_URL: s.redisUrl, GITHUB_TOKEN: 'ghp_s3cret' });
  expect(secret.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Job', uid: job.metadata.uid })]);
  await expect(handle.exited).resolves.toMatchObject({ exitCode: 3 });
});

test('a Secret that cannot be made deletes the Job this call created, and never a Job another call made', async () => {
  // Created here: the Job never ran, so it goes with the failed start.
  const mine = spec(fixtures.tag('hanging'));
  double.refuseNext('create', 'secrets', 500);
  await expect(spawner().start(mine)).rejects.toThrow(/create secrets/);
  await eventually(
    async () => !double.jobs().some((j) => j.metadata.labels?.['switchboard.job-id'] === mine.jobId),
    'the unstarted Job deleted',
  );

  // Adopted: another call created the Job (its Secret not made yet); our failed Secret leaves that Job alone.
  const theirs = spec(fixtures.tag('hanging'));
  const first = await spawner().start(theirs);
  const secret = double.secrets().find((x) => x.metadata.name === `${first.ref}-env`)!;
  double.store.remove('secrets', secret.metadata.namespace!, secret.metadata.name);
  double.refuseNext('create', 'secrets', 500);
  await expect(spawner().start(theirs)).rejects.toThrow(/create secrets/);
  expect(double.jobs().filter((j) => j.metadata.name === first.ref)).toHaveLength(1);
  await spawner().stop(theirs.jobId, 1);
  await expect(first.exited).resolves.toBeDefined();
});

test('a workspace project is refused with a message that says what to do', async () => {
  await expect(spawner().start(spec(fixtures.tag('hanging'), { workspace: '/srv/checkouts/demo' }))).rejects.toThrow(
    /workspace.*repo:.*SPAWNER_TYPE=docker/,
  );
});

test('an image the cluster cannot pull fails the agent in plain words and deletes its Job', async () => {
  const handle = await spawner().start(spec('switchboard-agent:does-not-exist'));
  await expect(handle.exited).resolves.toEqual({
    exitCode: null,
    detail: expect.stringMatching(/could not pull the image switchboard-agent:does-not-exist \((ErrImagePull|ImagePullBackOff)\)/),
  });
  await eventually(async () => !double.jobs().some((j) => j.metadata.name === handle.ref), 'the Job deleted');
});

test('a pod no node can take is failed after the grace period (Unschedulable)', async () => {
  const handle = await spawner({ unschedulableGraceMs: 300 }).start(
    spec(fixtures.tag('hanging'), { resources: { cpus: 64, memoryBytes: 256 * 1024 ** 2 } }),
  );
  await expect(handle.exited).resolves.toEqual({
    exitCode: null,
    detail: expect.stringMatching(/no node could take the agent .*Unschedulable: 0\/1 nodes are available: 1 Insufficient cpu/),
  });
});

test('an agent that outlives activeDeadlineSeconds ends with DeadlineExceeded', async () => {
  const handle = await spawner({ deadlineMarginSeconds: 0 }).start(spec(fixtures.tag('hanging'), { timeoutSeconds: 1 }));
  await expect(handle.exited).resolves.toMatchObject({ detail: expect.stringContaining('time limit (DeadlineExceeded)') });
});

test('an evicted agent says so', async () => {
  const handle = await spawner().start(spec(fixtures.tag('hanging')));
  const pod = await eventually(
    async () => double.pods().find((p) => p.metadata.labels?.['job-name'] === handle.ref && p.status.phase === 'Running'),
    'the running pod',
  );
  await double.evict(pod.metadata.name);
  await expect(handle.exited).resolves.toMatchObject({ detail: expect.stringContaining('evicted the agent (Evicted') });
});

test('the exit is still seen after the watch streams drop and the history is compacted (410 Gone, re-list)', async () => {
  const s = spawner();
  const handle = await s.start(spec(fixtures.tag('hanging')));
  await eventually(
    async () => double.pods().some((p) => p.metadata.labels?.['job-name'] === handle.ref && p.status.phase === 'Running'),
    'the running pod',
  );
  const lists = () =>
    double.requests.filter(
      (r) => r.method === 'GET' && !r.query.watch && r.query.labelSelector === 'app.kubernetes.io/managed-by=switchboard',
    ).length;
  const before = lists();
  // A plain drop: the informers resume from their resourceVersion.
  double.dropWatches();
  await eventually(async () => double.watchCount() >= 2, 'the watches back');
  // After compaction the resume gets 410 Gone: the informers list again.
  double.compact();
  double.dropWatches();
  await eventually(async () => lists() > before && double.watchCount() >= 2, 'a re-list after 410 Gone and the watches back');
  await s.stop(handle.jobId, 0);
  await expect(handle.exited).resolves.toMatchObject({ exitCode: 137 });
});

test('a namespace the service account may not use gives a 403 that names the fix', async () => {
  const s = spawner({}, 'kube-system');
  await expect(s.ping()).rejects.toThrow(/may not list jobs in namespace kube-system \(403 Forbidden\): apply manifests\/base\/rbac.yaml/);
});
