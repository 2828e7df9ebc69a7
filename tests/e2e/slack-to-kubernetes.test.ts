// The whole path with SPAWNER_TYPE=kubernetes: a Slack message (emulator) →
// the dispatcher → a Job on the Kubernetes API double → its pod run by the
// double's kubelet as a real agent container (cloning a real git repository
// from git daemon) → events in Redis → the status and result in the Slack thread.
import { jest } from '@jest/globals';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { KubernetesApiDouble } from '../support/k8s-api/index.js';
import { serveGitRepo, type GitServer } from '../support/git-server.js';
import { podSecurityViolations } from '../support/pod-security.js';
import { eventually } from '../support/eventually.js';
import { agentNetwork, agentNetworkGateway } from '../support/agent-network.js';

jest.setTimeout(120_000);

const channel = 'C0E2EK8S';
let double: KubernetesApiDouble;
let git: GitServer;
let h: Harness;

beforeAll(async () => {
  // Pods run on the agents' network, like the Docker spawner's agents: they reach the test Redis
  // (REDIS_AGENT_URL) and the git server at the host's address on it.
  [double, git] = await Promise.all([KubernetesApiDouble.start({ network: agentNetwork() }), serveGitRepo('demo', agentNetworkGateway())]);
  process.env.KUBECONFIG = double.kubeconfigFile();
  h = await startHarness({
    mode: 'socket',
    env: { SPAWNER_TYPE: 'kubernetes', K8S_NAMESPACE: double.namespace },
    projectsYaml: (workspace) => `
projects:
  demo:
    repo: ${git.url}
    agent:
      command: ["sh", "-c", "test -f README.md && echo 'reading issue {issue}' && sleep 2 && echo 'Opened https://github.com/acme/demo/pull/7'"]
  local:
    workspace: ${workspace}
    agent:
      command: ["true"]
`,
  });
});
afterAll(async () => {
  await h?.stop();
  await double?.stop();
  await git?.close();
  delete process.env.KUBECONFIG;
});

test('fix #58 in demo runs as a Kubernetes Job whose agent reports back to the thread', async () => {
  const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #58 in demo' });
  const result = await h.emu.waitFor(() => botReplies(h, channel, request.ts).find((m) => /is done/.test(m.text ?? '')), {
    what: 'the final result',
    timeoutMs: 90_000,
  });
  expect(result.text).toContain('https://github.com/acme/demo/pull/7');

  // The result is posted from the agent's `done` event; the pod exits a moment later and the Job completes.
  const job = await eventually(
    async () =>
      double
        .jobs()
        .find(
          (j) =>
            j.metadata.labels?.['switchboard.channel'] === channel &&
            j.status.conditions?.some((c: { type: string }) => c.type === 'Complete'),
        ),
    'the Job to complete',
  );
  expect(job.metadata.labels).toMatchObject({ 'switchboard.project': 'demo', 'app.kubernetes.io/managed-by': 'switchboard' });
  expect(podSecurityViolations(job.spec.template.spec)).toEqual([]);
  expect(job.spec.template.spec.containers[0].args).not.toContain('--redis-url');
  const secret = double.secrets().find((s) => s.metadata.name === `${job.metadata.name}-env`)!;
  // The job's own Redis user (DESIGN §5 Credentials), only in the Secret, never in the Job.
  const redisUrl = new URL(Buffer.from((secret.data as Record<string, string>).SWITCHBOARD_REDIS_URL!, 'base64').toString());
  expect(redisUrl.username).toBe(`job-${job.metadata.labels!['switchboard.job-id']}`);
  expect(redisUrl.password.length).toBeGreaterThan(8);
  expect(JSON.stringify(job)).not.toContain(redisUrl.password);
});

test('/readyz names the Kubernetes spawner', async () => {
  const res = await fetch(`http://127.0.0.1:${h.config.port}/readyz`);
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('spawner (kubernetes)');
});

test('a workspace project is refused on Kubernetes, in words the user can act on', async () => {
  const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #3 in local' });
  const failure = await h.emu.waitFor(() => botReplies(h, channel, request.ts).find((m) => /local checkout/.test(m.text ?? '')), {
    what: 'the refusal',
    timeoutMs: 30_000,
  });
  expect(failure.text).toContain('give the project a repo');
  expect(double.jobs().some((j) => j.metadata.labels?.['switchboard.project'] === 'local')).toBe(false);
});
