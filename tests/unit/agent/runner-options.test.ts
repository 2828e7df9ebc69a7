// The runner's options from the contract's arguments and environment, and the agent command built from them.
import { commandFor, parseRunnerOptions, RunnerUsageError } from '../../../src/agent/runner-options.js';
import { CONTRACT_ARGS, CONTRACT_ENV } from '../../support/contract-fixtures.js';

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
