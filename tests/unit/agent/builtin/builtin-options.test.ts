// How a project's built-in agent reaches the runner: the catalogue's model,
// allowed commands and caps go into the agent's env (jobs/run/agent-spec.ts)
// and come back out of it (agent/runner-options.ts) unchanged.
import { BUILTIN_LIMIT_DEFAULTS, parseRunnerOptions, RunnerUsageError } from '../../../../src/agent/runner-options.js';
import { buildAgentSpec, type AgentSettings } from '../../../../src/jobs/run/agent-spec.js';
import { agentArgs } from '../../../../src/spawners/spawner.js';
import type { Project } from '../../../../src/domain/project.js';
import { aJob } from '../../../support/jobs.js';

const SETTINGS: AgentSettings = { image: 'switchboard-agent:test', redisUrl: 'redis://redis:6379', redisPrefix: 'sbx:', secrets: {} };
const CREDENTIAL = { username: 'job-a1b2c3d4e5f6', password: 'pw' };

const builtinProject: Project = {
  name: 'billing-api',
  workspace: '/srv/checkouts/billing-api',
  branch: 'main',
  agent: {
    backend: 'ollama',
    model: 'qwen2.5-coder:7b',
    allow: [
      ['npm', 'test'],
      ['node', '--test', '...'],
    ],
    maxIterations: 12,
    maxTokens: 40_000,
    maxMinutes: 2.5,
  },
  admins: [],
  env: [],
  priority: 0,
  timeoutMinutes: 10,
  resources: { cpus: 1, memoryBytes: 2 ** 30 },
};

const ARGS = [
  '--headless',
  '--job-id',
  'a1b2c3d4e5f6',
  '--redis-url',
  'redis://r:6379',
  '--platform',
  'slack',
  '--channel-id',
  'C0123ABCD',
  'fix #1 in x',
];
const ENV = { PROJECT: 'x', SWITCHBOARD_WORKSPACE_MOUNTED: 'true', SWITCHBOARD_AGENT_BACKEND: 'ollama', SWITCHBOARD_AGENT_MODEL: 'm' };

test("the catalogue's built-in agent round-trips through the agent env to the runner", () => {
  const { spec } = buildAgentSpec(aJob(), builtinProject, SETTINGS, CREDENTIAL);
  expect(spec.env).not.toHaveProperty('SWITCHBOARD_AGENT_COMMAND');
  const o = parseRunnerOptions(agentArgs(spec), spec.env);
  expect(o.builtin).toEqual({
    model: 'qwen2.5-coder:7b',
    allow: [
      ['npm', 'test'],
      ['node', '--test', '...'],
    ],
    limits: { maxIterations: 12, maxTokens: 40_000, maxWallMs: 150_000 },
  });
  expect(o.command).toEqual([]);
});

test('without caps in the env, the runner takes the defaults, and no commands are allowed', () => {
  expect(parseRunnerOptions(ARGS, ENV).builtin).toEqual({ model: 'm', allow: [], limits: BUILTIN_LIMIT_DEFAULTS });
});

test('every bad built-in setting is named in one error', () => {
  const bad = {
    ...ENV,
    SWITCHBOARD_AGENT_BACKEND: 'openai',
    SWITCHBOARD_AGENT_MODEL: '',
    SWITCHBOARD_AGENT_ALLOW: '["npm test"]',
    SWITCHBOARD_AGENT_MAX_TOKENS: 'lots',
  };
  expect(() => parseRunnerOptions(ARGS, bad)).toThrow(RunnerUsageError);
  try {
    parseRunnerOptions(ARGS, bad);
  } catch (err) {
    const text = (err as Error).message;
    expect(text).toContain('SWITCHBOARD_AGENT_BACKEND must be ollama');
    expect(text).toContain('SWITCHBOARD_AGENT_MODEL is missing');
    expect(text).toContain('SWITCHBOARD_AGENT_ALLOW must be a JSON list of argument lists');
    expect(text).toContain('SWITCHBOARD_AGENT_MAX_TOKENS must be a positive number, got "lots"');
    // A built-in agent needs no command.
    expect(text).not.toContain('SWITCHBOARD_AGENT_COMMAND');
  }
});
