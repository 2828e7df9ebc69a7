import { jest } from '@jest/globals';
import { commandFor, parseRunnerOptions, RunnerUsageError } from '../../src/agent/runner-options.js';
import { findPrUrl, summarize } from '../../src/agent/result.js';
import { LineBatcher } from '../../src/agent/line-batcher.js';
import { agentRedisUrl, buildAgentSpec, promptFor, type AgentSettings } from '../../src/jobs/run/agent-spec.js';
import { queuePriority } from '../../src/jobs/job-queue.js';
import { agentArgs, agentLabels } from '../../src/spawners/spawner.js';
import { dockerConnection } from '../../src/spawners/docker/docker-connection.js';
import type { Project } from '../../src/config/catalogue.js';
import type { JobRecord } from '../../src/domain/job.js';
import { aJob } from '../support/jobs.js';

// ---------------------------------------------------------------- fixtures

const CONTRACT_ARGS = [
  '--headless',
  '--job-id',
  'a1b2c3d4e5f6',
  '--redis-url',
  'redis://redis:6379',
  '--platform',
  'slack',
  '--channel-id',
  'C0123ABCD',
  'fix #58 in billing-api',
];

const CONTRACT_ENV = {
  JOB_ID: 'a1b2c3d4e5f6',
  PROJECT: 'billing-api',
  CHANNEL_ID: 'C0123ABCD',
  USER_ID: 'U0123ABCD',
  REDIS_PREFIX: 'sbx:',
  SWITCHBOARD_AGENT_COMMAND: JSON.stringify(['claude', '-p', '{prompt}']),
  SWITCHBOARD_REPO: 'https://github.com/acme/billing-api.git',
};

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

// ---------------------------------------------------------------- runner options

describe('parseRunnerOptions', () => {
  test('reads the contract arguments and environment (DESIGN §5)', () => {
    const o = parseRunnerOptions(CONTRACT_ARGS, CONTRACT_ENV);
    expect(o).toMatchObject({
      jobId: 'a1b2c3d4e5f6',
      redisUrl: 'redis://redis:6379',
      platform: 'slack',
      channelId: 'C0123ABCD',
      request: 'fix #58 in billing-api',
      project: 'billing-api',
      userId: 'U0123ABCD',
      redisPrefix: 'sbx:',
      prompt: 'fix #58 in billing-api',
      repo: 'https://github.com/acme/billing-api.git',
      branch: 'main',
      workspaceDir: '/workspace',
      workspaceMounted: false,
      command: ['claude', '-p', '{prompt}'],
    });
    expect(o.issue).toBeUndefined();
  });

  test('the optional settings come from the environment', () => {
    const o = parseRunnerOptions(CONTRACT_ARGS, {
      ...CONTRACT_ENV,
      SWITCHBOARD_ISSUE: '58',
      SWITCHBOARD_PROMPT: 'Fix issue #58 of acme/billing-api',
      SWITCHBOARD_IMAGE: 'img:1',
      SWITCHBOARD_BRANCH: 'develop',
    });
    expect(o).toMatchObject({ issue: 58, prompt: 'Fix issue #58 of acme/billing-api', image: 'img:1', branch: 'develop' });
  });

  test('a mounted workspace needs no repository', () => {
    const { SWITCHBOARD_REPO: _repo, ...env } = CONTRACT_ENV;
    const o = parseRunnerOptions(CONTRACT_ARGS, { ...env, SWITCHBOARD_WORKSPACE_MOUNTED: 'true' });
    expect(o.workspaceMounted).toBe(true);
    expect(o.repo).toBeUndefined();
  });

  test('job id and channel fall back to the environment', () => {
    const o = parseRunnerOptions(['--headless', '--redis-url', 'redis://r', 'fix', '#58'], CONTRACT_ENV);
    expect(o).toMatchObject({ jobId: 'a1b2c3d4e5f6', channelId: 'C0123ABCD', request: 'fix #58' });
  });

  test('every missing piece is named in one error', () => {
    let error: unknown;
    try {
      parseRunnerOptions(['--headless'], {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RunnerUsageError);
    const message = (error as Error).message;
    for (const piece of [
      '--job-id',
      '--redis-url',
      '--channel-id',
      'the request',
      'PROJECT',
      'SWITCHBOARD_AGENT_COMMAND',
      'SWITCHBOARD_REPO',
    ]) {
      expect(message).toContain(piece);
    }
  });

  test.each(['not json', '[]', '"claude"', '[1,2]', '{"cmd":["a"]}'])('an agent command of %p is refused with the reason', (command) => {
    expect(() => parseRunnerOptions(CONTRACT_ARGS, { ...CONTRACT_ENV, SWITCHBOARD_AGENT_COMMAND: command })).toThrow(
      /SWITCHBOARD_AGENT_COMMAND must be a JSON array of strings/,
    );
  });

  test('a non-numeric issue is left out rather than NaN', () => {
    expect(parseRunnerOptions(CONTRACT_ARGS, { ...CONTRACT_ENV, SWITCHBOARD_ISSUE: 'abc' }).issue).toBeUndefined();
  });
});

describe('commandFor', () => {
  test('substitutes {prompt}, {issue} and {project} inside arguments', () => {
    expect(
      commandFor({
        command: ['agent', '--task={prompt}', '--issue', '{issue}', '--project={project}', '{prompt}'],
        prompt: 'Fix it',
        issue: 58,
        project: 'billing-api',
      }),
    ).toEqual(['agent', '--task=Fix it', '--issue', '58', '--project=billing-api', 'Fix it']);
  });

  test('an unknown issue becomes an empty string', () => {
    expect(commandFor({ command: ['a', '#{issue}'], prompt: 'p', project: 'x' })).toEqual(['a', '#']);
  });

  test('no shell: a prompt full of shell syntax stays one argument, verbatim', () => {
    const prompt = 'fix it; rm -rf / && echo $(whoami) `id` "quoted" \'single\' | cat > /etc/passwd';
    const argv = commandFor({ command: ['claude', '-p', '{prompt}'], prompt, issue: 1, project: 'p' });
    expect(argv).toEqual(['claude', '-p', prompt]);
  });

  test('a prompt with $ signs arrives verbatim (no replacement patterns like $& or $$)', () => {
    const prompt = "costs $$5; regex $& and $' and $`";
    expect(commandFor({ command: ['a', '{prompt}'], prompt, issue: 1, project: 'p' })).toEqual(['a', prompt]);
  });

  test('placeholders inside the prompt are not substituted again', () => {
    expect(commandFor({ command: ['a', '{prompt}'], prompt: 'explain {project} and {issue}', issue: 1, project: 'p' })).toEqual([
      'a',
      'explain {project} and {issue}',
    ]);
  });
});

// ---------------------------------------------------------------- results

describe('findPrUrl', () => {
  test('finds a GitHub pull request URL', () => {
    expect(findPrUrl(['working…', 'Opened https://github.com/acme/billing-api/pull/77 for review'])).toBe(
      'https://github.com/acme/billing-api/pull/77',
    );
  });

  test('finds a GitLab merge request URL', () => {
    expect(findPrUrl(['see https://gitlab.com/acme/api/-/merge_requests/12'])).toBe('https://gitlab.com/acme/api/-/merge_requests/12');
  });

  test('prefers the latest one: last line, last match', () => {
    const lines = ['https://github.com/a/b/pull/1', 'https://github.com/a/b/pull/2 and https://github.com/a/b/pull/3', 'all done'];
    expect(findPrUrl(lines)).toBe('https://github.com/a/b/pull/3');
  });

  test('leaves out surrounding punctuation', () => {
    expect(findPrUrl(['(https://github.com/a/b/pull/9).'])).toBe('https://github.com/a/b/pull/9');
    expect(findPrUrl(['<https://github.com/a/b/pull/9>'])).toBe('https://github.com/a/b/pull/9');
  });

  test('ignores issue links and text without URLs', () => {
    expect(findPrUrl(['fixed https://github.com/a/b/issues/58', 'no link here'])).toBeUndefined();
    expect(findPrUrl([])).toBeUndefined();
  });
});

describe('summarize', () => {
  test('is the last five non-empty lines', () => {
    const lines = ['1', '2', '', '3', '4', '  ', '5', '6', '7', ''];
    expect(summarize(lines, 'fallback')).toBe('3\n4\n5\n6\n7');
  });

  test('falls back when the agent said nothing', () => {
    expect(summarize([], 'the agent finished without output')).toBe('the agent finished without output');
    expect(summarize(['', '   '], 'nothing')).toBe('nothing');
  });

  test('keeps the end of very long output, marked as cut', () => {
    const s = summarize(['start ' + 'x'.repeat(5000) + ' END'], 'f');
    expect(s.length).toBeLessThanOrEqual(1501);
    expect(s.startsWith('…')).toBe(true);
    expect(s.endsWith(' END')).toBe(true);
  });
});

// ---------------------------------------------------------------- line batcher

describe('LineBatcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('hands lines over in one batch once the interval has passed', () => {
    const batches: string[][] = [];
    const b = new LineBatcher((lines) => batches.push(lines), 500, 50);
    b.add('a');
    b.add('b');
    jest.advanceTimersByTime(499);
    expect(batches).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(batches).toEqual([['a', 'b']]);
  });

  test('hands over at once when the batch is full', () => {
    const batches: string[][] = [];
    const b = new LineBatcher((lines) => batches.push(lines), 500, 3);
    for (const l of ['1', '2', '3', '4']) b.add(l);
    expect(batches).toEqual([['1', '2', '3']]);
    jest.advanceTimersByTime(500);
    expect(batches).toEqual([['1', '2', '3'], ['4']]);
  });

  test('a batch ends before its joined text would pass maxChars, so a long line never crowds out the next ones', () => {
    const batches: string[][] = [];
    const b = new LineBatcher((lines) => batches.push(lines), 500, 50, 10);
    for (const l of ['1234', '5678', 'abcdefghij', 'z']) b.add(l);
    b.flush();
    expect(batches).toEqual([['1234', '5678'], ['abcdefghij'], ['z']]);
  });

  test('flush() hands over what is pending and nothing twice', () => {
    const batches: string[][] = [];
    const b = new LineBatcher((lines) => batches.push(lines));
    b.flush();
    expect(batches).toEqual([]);
    b.add('x');
    b.flush();
    jest.runAllTimers();
    expect(batches).toEqual([['x']]);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('keeps every line, in order, across many batches', () => {
    const seen: string[] = [];
    const b = new LineBatcher((lines) => seen.push(...lines), 100, 7);
    for (let i = 0; i < 100; i++) {
      b.add(String(i));
      if (i % 13 === 0) jest.advanceTimersByTime(100);
    }
    b.flush();
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
  });
});

describe('LineBatcher with a rate (a flooding agent)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('10,000 lines in one second: at most the burst plus the rate of batches go, every other line is counted as dropped, and flush() says the rest', () => {
    const batches: { lines: string[]; dropped: number }[] = [];
    const b = new LineBatcher((lines, dropped) => batches.push({ lines, dropped }), 500, 50, Infinity, { batchesPerSecond: 4, burst: 8 });
    for (let i = 0; i < 10_000; i++) {
      b.add(`line ${i}`);
      if (i % 100 === 99) jest.advanceTimersByTime(10);
    }
    b.flush();
    const sent = batches.reduce((n, x) => n + x.lines.length, 0);
    const dropped = batches.reduce((n, x) => n + x.dropped, 0);
    expect(sent + dropped).toBe(10_000);
    // One second: the burst of 8 and 4 more a second, and the final flush.
    expect(batches.length).toBeLessThanOrEqual(8 + 4 + 1);
    expect(sent).toBeLessThanOrEqual(50 * batches.length);
    expect(dropped).toBeGreaterThan(9000);
    // Kept lines stay in order; the first ones are never dropped.
    expect(batches[0]?.lines[0]).toBe('line 0');
    const all = batches.flatMap((x) => x.lines.map((l) => Number(l.slice(5))));
    expect(all).toEqual([...all].sort((a, z) => a - z));
  });

  test('a quiet agent under the rate loses nothing', () => {
    const seen: string[] = [];
    let dropped = 0;
    const b = new LineBatcher((lines, d) => (seen.push(...lines), (dropped += d)), 500, 50, Infinity, { batchesPerSecond: 4, burst: 8 });
    for (let i = 0; i < 100; i++) {
      b.add(String(i));
      jest.advanceTimersByTime(100);
    }
    b.flush();
    expect(seen).toHaveLength(100);
    expect(dropped).toBe(0);
  });

  test('dropped lines waiting for the next slot are handed over by the timer, with their count', () => {
    const batches: { lines: string[]; dropped: number }[] = [];
    const b = new LineBatcher((lines, dropped) => batches.push({ lines, dropped }), 100, 2, Infinity, { batchesPerSecond: 1, burst: 1 });
    for (const l of ['a', 'b', 'c', 'd', 'e']) b.add(l);
    expect(batches).toEqual([{ lines: ['a', 'b'], dropped: 0 }]);
    jest.advanceTimersByTime(1000);
    expect(batches).toEqual([
      { lines: ['a', 'b'], dropped: 0 },
      { lines: ['c', 'd'], dropped: 1 },
    ]);
    expect(jest.getTimerCount()).toBe(0);
  });
});

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

describe('agentArgs and agentLabels', () => {
  test('the arguments are exactly the contract, request last', () => {
    expect(agentArgs({ jobId: 'j1', redisUrl: 'redis://r:6379', channel: 'C1', request: 'fix #1 in p' })).toEqual([
      '--headless',
      '--job-id',
      'j1',
      '--redis-url',
      'redis://r:6379',
      '--platform',
      'slack',
      '--channel-id',
      'C1',
      'fix #1 in p',
    ]);
  });

  test('a request that looks like an option still reaches the runner as the request', () => {
    const request = '--redis-url evil -v fix #1';
    const o = parseRunnerOptions(agentArgs({ jobId: 'j1', redisUrl: 'redis://r:6379', channel: 'C1', request }), CONTRACT_ENV);
    expect(o.request).toBe(request);
    expect(o.redisUrl).toBe('redis://r:6379');
  });

  test('the labels are the contract labels', () => {
    expect(agentLabels({ jobId: 'j1', project: 'billing-api', channel: 'C1' })).toEqual({
      'switchboard.job-id': 'j1',
      'switchboard.project': 'billing-api',
      'switchboard.channel': 'C1',
      'app.kubernetes.io/managed-by': 'switchboard',
    });
  });
});

// ---------------------------------------------------------------- queue priority and docker

describe('queuePriority', () => {
  test('a larger catalogue priority gives a smaller (earlier) BullMQ priority', () => {
    expect(queuePriority(10)).toBeLessThan(queuePriority(0));
    expect(queuePriority(0)).toBeLessThan(queuePriority(-10));
    expect(queuePriority(100)).toBeLessThan(queuePriority(99));
  });

  test('stays within BullMQ range 1 … 2,097,152', () => {
    for (const p of [-1e12, -5e6, -1, 0, 0.4, 1, 999_999, 1e6, 1e12]) {
      const q = queuePriority(p);
      expect(Number.isInteger(q)).toBe(true);
      expect(q).toBeGreaterThanOrEqual(1);
      expect(q).toBeLessThanOrEqual(2_097_152);
    }
    expect(queuePriority(1e12)).toBe(1);
    expect(queuePriority(-1e12)).toBe(2_097_152);
  });
});

describe('dockerConnection', () => {
  test.each([
    ['/var/run/docker.sock', { socketPath: '/var/run/docker.sock' }],
    ['unix:///var/run/docker.sock', { socketPath: '/var/run/docker.sock' }],
    ['unix:///run/user/1000/docker.sock', { socketPath: '/run/user/1000/docker.sock' }],
    ['tcp://10.0.0.5:2376', { host: '10.0.0.5', port: 2376, protocol: 'http' }],
    ['tcp://docker', { host: 'docker', port: 2375, protocol: 'http' }],
    ['http://docker:1234', { host: 'docker', port: 1234, protocol: 'http' }],
    ['https://docker.internal:2376', { host: 'docker.internal', port: 2376, protocol: 'https' }],
  ])('%s', (dockerHost, options) => {
    const { agent, ...connection } = dockerConnection(dockerHost);
    expect(connection).toEqual(options);
    // Plain connections are not pooled: a connection left from before an engine restart would fail the next call.
    const pooled = agent ? (agent as unknown as { keepAlive: boolean }).keepAlive : 'default agent';
    expect(pooled).toBe(dockerHost.startsWith('https:') ? 'default agent' : false);
  });
});
