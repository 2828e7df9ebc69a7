// The agent contract (DESIGN §5) from both sides: what the spawners pass is
// what the runner parses, with the Redis URL as an argument (Docker) or from
// SWITCHBOARD_REDIS_URL (Kubernetes); labels and keys as the design names them.
import { AGENT_ENV, agentArgs, agentLabels, identityFromLabels, MANAGED_SELECTOR } from '../../../src/domain/agent-contract.js';
import { keys } from '../../../src/domain/keys.js';
import { parseRunnerOptions } from '../../../src/agent/runner-options.js';

const run = {
  jobId: 'jabc0123456',
  channel: 'C0123ABCD',
  request: 'fix #58 in billing-api',
  redisUrl: 'redis://job-jabc0123456:pw@redis:6379',
};
const env = {
  JOB_ID: run.jobId,
  PROJECT: 'billing-api',
  CHANNEL_ID: run.channel,
  USER_ID: 'U0ALICE',
  REDIS_PREFIX: 'sb:',
  SWITCHBOARD_REPO: 'https://example.com/r.git',
  SWITCHBOARD_AGENT_COMMAND: '["true"]',
};

test('DESIGN §5 arguments, with the Redis URL', () => {
  expect(agentArgs(run)).toEqual([
    '--headless',
    '--job-id',
    run.jobId,
    '--redis-url',
    run.redisUrl,
    '--platform',
    'slack',
    '--channel-id',
    run.channel,
    run.request,
  ]);
});

test('the runner parses what the Docker spawner passes', () => {
  expect(parseRunnerOptions(agentArgs(run), env)).toMatchObject({ jobId: run.jobId, redisUrl: run.redisUrl, channelId: run.channel });
});

test('the runner takes the Redis URL from SWITCHBOARD_REDIS_URL when the arguments leave it out (Kubernetes)', () => {
  const args = agentArgs({ ...run, redisUrl: undefined });
  expect(args).not.toContain('--redis-url');
  expect(parseRunnerOptions(args, { ...env, [AGENT_ENV.redisUrl]: run.redisUrl })).toMatchObject({ redisUrl: run.redisUrl });
  expect(() => parseRunnerOptions(args, env)).toThrow(/SWITCHBOARD_REDIS_URL/);
});

test('labels name the job, project and channel, and read back', () => {
  const labels = agentLabels({ jobId: run.jobId, project: 'billing-api', channel: run.channel });
  expect(labels).toEqual({
    'switchboard.job-id': run.jobId,
    'switchboard.project': 'billing-api',
    'switchboard.channel': run.channel,
    'app.kubernetes.io/managed-by': 'switchboard',
  });
  expect(identityFromLabels(labels)).toEqual({ jobId: run.jobId, project: 'billing-api', channel: run.channel });
  expect(MANAGED_SELECTOR).toBe('app.kubernetes.io/managed-by=switchboard');
});

test("an agent's keys (its per-job ACL user names these, state/agent-credentials.ts)", () => {
  const k = keys('sb:');
  expect([k.jobEvents(run.jobId), k.jobControl(run.jobId), k.jobHeartbeat(run.jobId), k.jobSecret(run.jobId)]).toEqual([
    `sb:job:${run.jobId}:events`,
    `sb:job:${run.jobId}:control`,
    `sb:job:${run.jobId}:heartbeat`,
    `sb:job:${run.jobId}:secret`,
  ]);
});
