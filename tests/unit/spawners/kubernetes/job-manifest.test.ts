// The Job and Secret of one agent run: valid against the official schema,
// restricted-PSS clean, DESIGN §5 args/env/labels, and no secret value in the Job.
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Secret } from 'kubernetes-models/v1/Secret';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { jobManifest, jobName, secretManifest } from '../../../../src/spawners/kubernetes/job-manifest.js';
import { verdictOf } from '../../../../src/spawners/kubernetes/job-verdict.js';
import type { AgentSpec } from '../../../../src/spawners/spawner.js';
import { podSecurityViolations } from '../../../support/pod-security.js';

const spec: AgentSpec = {
  jobId: 'a1b2c3d4e5f6',
  project: 'billing-api',
  channel: 'C0123ABCD',
  user: 'U0ALICE',
  request: 'fix #58 in billing-api',
  image: 'registry.example/switchboard-agent:1.0',
  redisUrl: 'redis://job-a1b2c3d4e5f6:pa55word@redis:6379',
  redisPrefix: 'sb:',
  env: {
    JOB_ID: 'a1b2c3d4e5f6',
    PROJECT: 'billing-api',
    CHANNEL_ID: 'C0123ABCD',
    USER_ID: 'U0ALICE',
    REDIS_PREFIX: 'sb:',
    SWITCHBOARD_SECRET_NAMES: 'GITHUB_TOKEN',
    GITHUB_TOKEN: 'ghp_s3cret',
  },
  resources: { cpus: 2, memoryBytes: 4 * 1024 ** 3 },
  timeoutSeconds: 3600,
};
const options = {
  namespace: 'switchboard',
  ttlSecondsAfterFinished: 3600,
  deadlineMarginSeconds: 60,
  terminationGraceSeconds: 10,
  runtimeClassName: 'gvisor',
};

test('the Job validates against the official schema and passes the restricted Pod Security Standard', () => {
  const job = jobManifest(spec, options);
  expect(() => new Job(job as never).validate()).not.toThrow();
  expect(podSecurityViolations(job.spec!.template.spec)).toEqual([]);
  expect(job.spec).toMatchObject({ backoffLimit: 0, ttlSecondsAfterFinished: 3600, activeDeadlineSeconds: 3660 });
  const pod = job.spec!.template.spec!;
  expect(pod).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false, runtimeClassName: 'gvisor' });
  expect(pod.volumes).toEqual([
    { name: 'tmp', emptyDir: {} },
    { name: 'workspace', emptyDir: {} },
  ]);
  expect(pod.containers[0]!.resources).toEqual({
    requests: { cpu: '2000m', memory: '4096Mi' },
    limits: { cpu: '2000m', memory: '4096Mi' },
  });
});

test('DESIGN §5: labels, args without the Redis URL, env by name; secret values only in the Secret', () => {
  const job = jobManifest(spec, options);
  const labels = {
    'switchboard.job-id': spec.jobId,
    'switchboard.project': 'billing-api',
    'switchboard.channel': 'C0123ABCD',
    'app.kubernetes.io/managed-by': 'switchboard',
  };
  expect(job.metadata!.labels).toEqual(labels);
  expect(job.spec!.template.metadata!.labels).toEqual(labels);
  const c = job.spec!.template.spec!.containers[0]!;
  expect(c.args).toEqual([
    '--headless',
    '--job-id',
    spec.jobId,
    '--platform',
    'slack',
    '--channel-id',
    'C0123ABCD',
    'fix #58 in billing-api',
  ]);
  expect(c.env).toEqual(
    expect.arrayContaining([
      { name: 'JOB_ID', value: spec.jobId },
      { name: 'REDIS_PREFIX', value: 'sb:' },
      { name: 'SWITCHBOARD_SECRET_NAMES', value: 'GITHUB_TOKEN' },
    ]),
  );
  expect(c.envFrom).toEqual([{ secretRef: { name: `${jobName(spec.jobId)}-env` } }]);
  const text = JSON.stringify(job);
  expect(text).not.toContain('ghp_s3cret');
  expect(text).not.toContain('pa55word');

  const secret = secretManifest(spec, { name: jobName(spec.jobId), uid: '0b7e6b1e-1f7c-4c57-9a43-9a1c2a1b3c4d' }, 'switchboard');
  expect(() => new Secret(secret as never).validate()).not.toThrow();
  expect(secret.stringData).toEqual({ SWITCHBOARD_REDIS_URL: spec.redisUrl, GITHUB_TOKEN: 'ghp_s3cret' });
  expect(secret.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'Job', name: jobName(spec.jobId), controller: true })]);
});

test('job names are DNS-1123 labels, one per job id', () => {
  expect(jobName('a1b2c3d4e5f6')).toBe('switchboard-job-a1b2c3d4e5f6');
  const odd = ['Job_42', 'job_42', 'x'.repeat(80)].map(jobName);
  for (const n of odd) expect(n).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  expect(new Set(odd).size).toBe(3);
});

describe('failure reasons in plain words', () => {
  const job = (reason?: string, type = 'Failed'): V1Job => ({ status: reason ? { conditions: [{ type, status: 'True', reason }] } : {} });
  const pod = (status: V1Pod['status'], image = 'img:1'): V1Pod => ({ spec: { containers: [{ name: 'agent', image }] }, status });
  const terminated = (exitCode: number, reason: string) => ({
    phase: 'Failed',
    containerStatuses: [
      { name: 'agent', image: 'img:1', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, reason } } },
    ],
  });

  test.each([
    [
      'OOMKilled',
      job('BackoffLimitExceeded'),
      [pod(terminated(137, 'OOMKilled'))],
      { exitCode: 137, detail: expect.stringContaining('ran out of memory (OOMKilled)') },
    ],
    [
      'Evicted',
      job('BackoffLimitExceeded'),
      [pod({ ...terminated(137, 'Error'), reason: 'Evicted', message: 'low on memory' })],
      { detail: expect.stringContaining('evicted') },
    ],
    ['DeadlineExceeded', job('DeadlineExceeded'), [], { exitCode: null, detail: expect.stringContaining('time limit (DeadlineExceeded)') }],
    ['a plain exit code', job('BackoffLimitExceeded'), [pod(terminated(3, 'Error'))], { exitCode: 3, detail: undefined }],
    ['success', job('CompletionsReached', 'Complete'), [pod({ ...terminated(0, 'Completed'), phase: 'Succeeded' })], { exitCode: 0 }],
  ])('%s', (_name, j, pods, expected) => {
    expect(verdictOf(j, pods)).toMatchObject({ state: 'exited', ...expected });
  });

  test.each(['ErrImagePull', 'ImagePullBackOff'])('%s', (reason) => {
    const p = pod({
      phase: 'Pending',
      containerStatuses: [{ name: 'agent', image: 'img:1', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason } } }],
    });
    expect(verdictOf(job(), [p])).toEqual({ state: 'stuck', detail: `the cluster could not pull the image img:1 (${reason})` });
  });

  test('unschedulable', () => {
    const p = pod({
      phase: 'Pending',
      conditions: [
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' },
      ],
    });
    expect(verdictOf(job(), [p])).toEqual({ state: 'unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' });
  });
});
