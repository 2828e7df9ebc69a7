// Evidence that the Kubernetes API double behaves like the real API server
// where the spawner depends on it: client-node's own Informer lists, watches,
// survives a dropped stream and re-lists after 410 Gone; Status codes; schema
// validation (422); Job conditions from a real container; garbage collection.
import { jest } from '@jest/globals';
import { BatchV1Api, CoreV1Api, KubeConfig, makeInformer, type V1Job } from '@kubernetes/client-node';
import { KubernetesApiDouble } from '../support/k8s-api/index.js';
import { eventually } from '../support/eventually.js';

jest.setTimeout(60_000);

let double: KubernetesApiDouble;
let kc: KubeConfig;
let batch: BatchV1Api;
let core: CoreV1Api;
const ns = 'switchboard-test';

beforeAll(async () => {
  double = await KubernetesApiDouble.start({ bookmarkIntervalMs: 200 });
  kc = new KubeConfig();
  kc.loadFromFile(double.kubeconfigFile());
  batch = kc.makeApiClient(BatchV1Api);
  core = kc.makeApiClient(CoreV1Api);
});
afterAll(() => double?.stop());

const job = (name: string, script: string, secretOptional = true): V1Job => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, labels: { suite: 'double' } },
  spec: {
    backoffLimit: 0,
    template: {
      metadata: { labels: { suite: 'double' } },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'debian:bookworm-slim',
            command: ['sh', '-c', script],
            envFrom: [{ secretRef: { name: `${name}-env`, optional: secretOptional } }],
          },
        ],
      },
    },
  },
});

const conditionOf = (j: V1Job | undefined) => j?.status?.conditions?.find((c) => c.type === 'Complete' || c.type === 'Failed');

test("client-node's Informer lists, watches, reconnects after a dropped stream and re-lists after 410 Gone", async () => {
  const seen: string[] = [];
  const informer = makeInformer(
    kc,
    `/apis/batch/v1/namespaces/${ns}/jobs`,
    () => batch.listNamespacedJob({ namespace: ns, labelSelector: 'suite=double' }),
    'suite=double',
  );
  let connects = 0;
  informer.on('connect', () => (connects += 1));
  informer.on('add', (j) => seen.push(`add ${j.metadata?.name}`));
  informer.on('update', (j) => conditionOf(j) && seen.push(`${conditionOf(j)!.type} ${j.metadata?.name} ${conditionOf(j)!.reason}`));
  informer.on('delete', (j) => seen.push(`delete ${j.metadata?.name}`));
  await batch.createNamespacedJob({ namespace: ns, body: job('before-start', 'exit 0') });
  await informer.start();
  await eventually(async () => seen.includes('add before-start'), 'the listed job');

  await batch.createNamespacedJob({ namespace: ns, body: job('exits-three', 'exit 3') });
  await eventually(async () => seen.includes('Failed exits-three BackoffLimitExceeded'), 'the failed condition');

  // A dropped stream: the informer resumes from its resourceVersion, no re-list.
  double.dropWatches();
  await batch.createNamespacedJob({ namespace: ns, body: job('after-drop', 'sleep 60') });
  await eventually(async () => seen.includes('add after-drop'), 'an add after the drop');

  // Compaction: the next resume gets 410 Gone in the stream; the informer re-lists.
  const before = double.requests.filter((r) => r.path.endsWith('/jobs') && !r.query.watch).length;
  double.compact();
  double.dropWatches();
  await batch.deleteNamespacedJob({ name: 'after-drop', namespace: ns, propagationPolicy: 'Background' });
  await eventually(async () => seen.includes('delete after-drop'), 'the delete seen after the re-list');
  expect(double.requests.filter((r) => r.path.endsWith('/jobs') && !r.query.watch).length).toBeGreaterThan(before);
  expect(connects).toBeGreaterThanOrEqual(2);
  await informer.stop();
  for (const name of ['before-start', 'exits-three'])
    await batch.deleteNamespacedJob({ name, namespace: ns, propagationPolicy: 'Background' });
});

test('a watch from a compacted resourceVersion gets an ERROR event with 410 Expired; bookmarks come when asked for', async () => {
  const rv = double.store.currentVersion();
  await core.createNamespacedSecret({
    namespace: ns,
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rv-probe' }, stringData: { a: 'b' } },
  });
  double.compact();
  const token = double.token;
  const gone = await (
    await fetch(`${double.url}/api/v1/namespaces/${ns}/secrets?watch=true&resourceVersion=${rv}`, {
      headers: { authorization: `Bearer ${token}` },
    })
  ).text();
  expect(JSON.parse(gone.trim())).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });

  const ctl = new AbortController();
  const res = await fetch(
    `${double.url}/api/v1/namespaces/${ns}/secrets?watch=1&allowWatchBookmarks=true&resourceVersion=${double.store.currentVersion()}`,
    {
      headers: { authorization: `Bearer ${token}` },
      signal: ctl.signal,
    },
  );
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  expect(JSON.parse(new TextDecoder().decode(value).split('\n')[0]!)).toMatchObject({
    type: 'BOOKMARK',
    object: { kind: 'Secret', metadata: { resourceVersion: expect.any(String) } },
  });
  ctl.abort();
  await core.deleteNamespacedSecret({ name: 'rv-probe', namespace: ns });
});

test('Status answers: 401, 403 outside the namespace, 404, 409, and 422 for an object the schema refuses', async () => {
  const status = async (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (e: { code?: number }) => e.code,
    );
  const intruder = new KubeConfig();
  intruder.loadFromOptions({
    clusters: [{ name: 'd', server: double.url, skipTLSVerify: true }],
    users: [{ name: 'x', token: 'wrong' }],
    contexts: [{ name: 'd', cluster: 'd', user: 'x' }],
    currentContext: 'd',
  });
  expect(await status(intruder.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: ns }))).toBe(401);
  expect(await status(batch.listNamespacedJob({ namespace: 'kube-system' }))).toBe(403);
  expect(await status(batch.readNamespacedJob({ name: 'nope', namespace: ns }))).toBe(404);
  await batch.createNamespacedJob({ namespace: ns, body: job('twice', 'exit 0') });
  expect(await status(batch.createNamespacedJob({ namespace: ns, body: job('twice', 'exit 0') }))).toBe(409);

  const bad = job('bad-image', 'exit 0');
  (bad.spec!.template.spec!.containers[0] as unknown as { image: number }).image = 7;
  const res = await fetch(`${double.url}/apis/batch/v1/namespaces/${ns}/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${double.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(bad),
  });
  expect(res.status).toBe(422);
  expect(await res.json()).toMatchObject({
    kind: 'Status',
    reason: 'Invalid',
    code: 422,
    details: { kind: 'Job', causes: [expect.objectContaining({ field: expect.stringContaining('image') })] },
  });
  expect(
    await status(
      batch.createNamespacedJob({
        namespace: ns,
        body: {
          ...job('always', 'exit 0'),
          spec: { template: { spec: { restartPolicy: 'Always', containers: [{ name: 'm', image: 'x' }] } } },
        },
      }),
    ),
  ).toBe(422);
  await batch.deleteNamespacedJob({ name: 'twice', namespace: ns, propagationPolicy: 'Background' });
});

test('a pod gets its env from the Secret; deleting the Job in the background takes its pods and owned Secrets along', async () => {
  const created = await batch.createNamespacedJob({ namespace: ns, body: job('reads-secret', 'test "$TOKEN" = s3cret', false) });
  await core.createNamespacedSecret({
    namespace: ns,
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'reads-secret-env',
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'reads-secret', uid: created.metadata!.uid! }],
      },
      stringData: { TOKEN: 's3cret' },
    },
  });
  // The pod waits (CreateContainerConfigError) until its Secret exists, then exits 0 only if TOKEN came through.
  const pod = await eventually(
    async () => double.pods().find((p) => p.metadata.name.startsWith('reads-secret-') && p.status.phase === 'Succeeded'),
    'the pod succeeding',
  );
  expect(conditionOf(await batch.readNamespacedJob({ name: 'reads-secret', namespace: ns }))).toMatchObject({ type: 'Complete' });
  expect(pod.metadata.labels).toMatchObject({ 'batch.kubernetes.io/job-name': 'reads-secret', suite: 'double' });
  await batch.deleteNamespacedJob({ name: 'reads-secret', namespace: ns, propagationPolicy: 'Background', gracePeriodSeconds: 0 });
  await eventually(
    async () =>
      !double.pods().some((p) => p.metadata.name === pod.metadata.name) &&
      !double.secrets().some((s) => s.metadata.name === 'reads-secret-env'),
    'pods and secret gone',
  );
});
