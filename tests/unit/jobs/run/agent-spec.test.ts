// What the spawner starts for a job (DESIGN §5): the contract's environment, the project's env names, the prompt, the agent's own Redis user.
import { commandFor, parseRunnerOptions } from '../../../../src/agent/runner-options.js';
import { agentRedisUrl, buildAgentSpec, promptFor, type AgentSettings } from '../../../../src/jobs/run/agent-spec.js';
import { agentArgs } from '../../../../src/spawners/spawner.js';
import type { Project } from '../../../../src/config/catalogue.js';
import type { JobRecord } from '../../../../src/domain/job.js';
import { aJob } from '../../../support/jobs.js';

function project(over: Partial<Project> = {}): Project {
  return {
    name: 'billing-api',
    repo: 'https://github.com/acme/billing-api.git',
    branch: 'develop',
    tracker: { type: 'github', repo: 'acme/billing-api' },
    agent: { command: ['claude', '-p', '{prompt}'] },
    admins: [],
    env: ['GITHUB_TOKEN', 'NPM_TOKEN'],
    priority: 10,
    timeoutMinutes: 60,
    resources: { cpus: 2, memoryBytes: 4 * 2 ** 30 },
    ...over,
  };
}

const JOB: JobRecord = aJob();

const SETTINGS: AgentSettings = {
  image: 'switchboard-agent:test',
  redisUrl: 'redis://redis:6379',
  redisPrefix: 'sbx:',
  secrets: { GITHUB_TOKEN: 'ghp_secretvalue', NPM_TOKEN: undefined, UNRELATED_SECRET: 'do-not-pass' },
};
const CREDENTIAL = { username: 'job-a1b2c3d4e5f6', password: 'pa/ss' };

// ---------------------------------------------------------------- agent spec

describe('buildAgentSpec', () => {
  test('carries the contract environment (DESIGN §5)', () => {
    const { spec } = buildAgentSpec(JOB, project(), SETTINGS, CREDENTIAL);
    expect(spec.env).toMatchObject({
      JOB_ID: 'a1b2c3d4e5f6',
      PROJECT: 'billing-api',
      CHANNEL_ID: 'C0123ABCD',
      USER_ID: 'U0123ABCD',
      REDIS_PREFIX: 'sbx:',
      SWITCHBOARD_ISSUE: '58',
      SWITCHBOARD_IMAGE: 'switchboard-agent:test',
      SWITCHBOARD_BRANCH: 'develop',
      SWITCHBOARD_AGENT_COMMAND: JSON.stringify(['claude', '-p', '{prompt}']),
      SWITCHBOARD_REPO: 'https://github.com/acme/billing-api.git',
    });
    expect(spec).toMatchObject({
      jobId: JOB.id,
      project: 'billing-api',
      channel: 'C0123ABCD',
      image: 'switchboard-agent:test',
      redisUrl: 'redis://job-a1b2c3d4e5f6:pa%2Fss@redis:6379',
    });
  });

  test("passes the project's env names through with their values", () => {
    expect(buildAgentSpec(JOB, project(), SETTINGS, CREDENTIAL).spec.env.GITHUB_TOKEN).toBe('ghp_secretvalue');
  });

  test('reports missing env names and never puts them in the spec', () => {
    const { spec, missingEnv } = buildAgentSpec(JOB, project(), SETTINGS, CREDENTIAL);
    expect(missingEnv).toEqual(['NPM_TOKEN']);
    expect(Object.keys(spec.env)).not.toContain('NPM_TOKEN');
    expect(JSON.stringify(spec)).not.toContain('undefined');
  });

  test('secrets the project did not ask for are not passed', () => {
    const { spec } = buildAgentSpec(JOB, project(), SETTINGS, CREDENTIAL);
    expect(JSON.stringify(spec)).not.toContain('do-not-pass');
    expect(Object.keys(spec.env)).not.toContain('UNRELATED_SECRET');
  });

  test('a mounted workspace replaces the repository', () => {
    const { spec } = buildAgentSpec(JOB, project({ repo: undefined, workspace: '/srv/checkouts/billing' }), SETTINGS, CREDENTIAL);
    expect(spec.env.SWITCHBOARD_WORKSPACE_MOUNTED).toBe('true');
    expect(spec.env.SWITCHBOARD_REPO).toBeUndefined();
    expect(spec.workspace).toBe('/srv/checkouts/billing');
  });

  test('the prompt names the issue, the tracker repository and the request', () => {
    const prompt = promptFor(JOB, project());
    expect(prompt).toContain('#58');
    expect(prompt).toContain('acme/billing-api');
    expect(prompt).toContain('fix #58 in billing-api');
  });

  test('what the spawner starts is what the runner reads: args + env round trip', () => {
    const { spec } = buildAgentSpec(JOB, project(), SETTINGS, CREDENTIAL);
    const o = parseRunnerOptions(agentArgs(spec), spec.env);
    expect(o).toMatchObject({
      jobId: JOB.id,
      redisUrl: 'redis://job-a1b2c3d4e5f6:pa%2Fss@redis:6379',
      channelId: JOB.channel,
      request: JOB.request,
      project: 'billing-api',
      userId: JOB.user,
      redisPrefix: 'sbx:',
      issue: 58,
      branch: 'develop',
      command: ['claude', '-p', '{prompt}'],
    });
    expect(commandFor(o)).toEqual(['claude', '-p', promptFor(JOB, project())]);
  });
});

describe('agentRedisUrl and SWITCHBOARD_REDIS_URL', () => {
  test("the agent gets its own user on the agents' Redis address, never the dispatcher's credentials", () => {
    expect(agentRedisUrl('redis://10.0.0.1:6379', { username: 'job-abc', password: 'p@ss:/word' })).toBe(
      'redis://job-abc:p%40ss%3A%2Fword@10.0.0.1:6379',
    );
    expect(agentRedisUrl('rediss://redis.internal:6380', { username: 'job-abc', password: 'x' })).toBe(
      'rediss://job-abc:x@redis.internal:6380',
    );
  });

  test('the runner takes the URL from SWITCHBOARD_REDIS_URL when the argument is absent', () => {
    const { spec } = buildAgentSpec(JOB, project(), SETTINGS, CREDENTIAL);
    const args = agentArgs(spec);
    const i = args.indexOf('--redis-url');
    const withoutUrl = [...args.slice(0, i), ...args.slice(i + 2)];
    expect(parseRunnerOptions(withoutUrl, { ...spec.env, SWITCHBOARD_REDIS_URL: 'redis://job-x:y@r:1' }).redisUrl).toBe(
      'redis://job-x:y@r:1',
    );
    expect(() => parseRunnerOptions(withoutUrl, spec.env)).toThrow(/missing --redis-url \(or SWITCHBOARD_REDIS_URL\)/);
  });
});
