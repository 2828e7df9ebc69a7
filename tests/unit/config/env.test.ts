import { ConfigError, loadConfig } from '../../../src/config/env.js';

const BOT = 'xoxb-1111-2222-SeCrEtBoTtOkEn';
const APP = 'xapp-1-A111-3333-SeCrEtApPtOkEn';
const SIGNING = '8f742231b10e8888abcd99yyyzzz85a5';

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('applies every default of DESIGN §3', () => {
    expect(loadConfig({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP })).toEqual({
      slack: { mode: 'socket', botToken: BOT, appToken: APP, apiUrl: 'https://slack.com/api/' },
      port: 3000,
      listenHost: '0.0.0.0',
      redis: { url: 'redis://localhost:6379', prefix: 'sb:', agentUrl: 'redis://localhost:6379' },
      spawner: {
        type: 'docker',
        agentImage: 'switchboard-agent:latest',
        dockerHost: '/var/run/docker.sock',
        dockerNetwork: 'switchboard-agents',
      },
      projectsFile: './projects.yml',
      maxConcurrentJobs: 4,
      inference: { slots: 1, port: 3001, listenHost: '0.0.0.0', firstTokenTimeoutMs: 120_000 },
      logLevel: 'info',
      slackDelivery: { callTimeoutMs: 10_000, callRetries: 3, methodBudgets: {}, channelPostBudget: 60 },
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT,
      SLACK_SIGNING_SECRET: SIGNING,
      SLACK_MODE: 'HTTP',
      SLACK_API_URL: 'http://127.0.0.1:9999/api',
      PORT: '8080',
      REDIS_URL: 'rediss://:pw@redis.internal:6380/2',
      REDIS_PREFIX: 'sbtest:',
      SPAWNER_TYPE: 'kubernetes',
      AGENT_IMAGE: 'registry.local/agent:1.2',
      DOCKER_HOST: 'unix:///run/docker.sock',
      DOCKER_NETWORK: 'switchboard_default',
      K8S_NAMESPACE: 'agents',
      LISTEN_HOST: '127.0.0.1',
      REDIS_AGENT_URL: 'rediss://redis.agents:6380',
      WORKSPACE_ROOT: '/srv/checkouts',
      AGENT_RUNTIME: 'runsc',
      PROJECTS_FILE: '/etc/switchboard/projects.yml',
      MAX_CONCURRENT_JOBS: '12',
      OLLAMA_URL: 'http://gpu-box:11434, http://spare-gpu:11434/',
      OLLAMA_SLOTS: '2',
      INFERENCE_HEAVY_MODEL: 'qwen2.5-coder:32b',
      LOG_LEVEL: 'debug',
      SLACK_CALL_TIMEOUT_MS: '5000',
      SLACK_CALL_RETRIES: '0',
      SLACK_METHOD_BUDGETS: 'chat.update=40,reactions.add=30',
      SLACK_CHANNEL_POST_BUDGET: '30',
    });
    expect(config).toEqual({
      slack: { mode: 'http', botToken: BOT, signingSecret: SIGNING, apiUrl: 'http://127.0.0.1:9999/api/' },
      port: 8080,
      listenHost: '127.0.0.1',
      redis: { url: 'rediss://:pw@redis.internal:6380/2', prefix: 'sbtest:', agentUrl: 'rediss://redis.agents:6380' },
      spawner: {
        type: 'kubernetes',
        agentImage: 'registry.local/agent:1.2',
        dockerHost: 'unix:///run/docker.sock',
        dockerNetwork: 'switchboard_default',
        agentRuntime: 'runsc',
        k8sNamespace: 'agents',
      },
      workspaceRoot: '/srv/checkouts',
      projectsFile: '/etc/switchboard/projects.yml',
      maxConcurrentJobs: 12,
      inference: {
        ollamaUrls: 'http://gpu-box:11434/,http://spare-gpu:11434/',
        slots: 2,
        port: 3001,
        listenHost: '0.0.0.0',
        firstTokenTimeoutMs: 120_000,
        heavyModel: 'qwen2.5-coder:32b',
      },
      logLevel: 'debug',
      slackDelivery: {
        callTimeoutMs: 5000,
        callRetries: 0,
        methodBudgets: { 'chat.update': 40, 'reactions.add': 30 },
        channelPostBudget: 30,
      },
    });
  });

  it("gives agents REDIS_URL's host and port without its credentials when REDIS_AGENT_URL is unset", () => {
    const config = loadConfig({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, REDIS_URL: 'redis://dispatcher:S3cret@redis:6379/0' });
    expect(config.redis.agentUrl).toBe('redis://redis:6379');
  });

  it.each([
    [{ DOCKER_NETWORK: 'host' }, /^DOCKER_NETWORK: must not be host — agents would share the host network and reach the dispatcher/],
    [{ DOCKER_NETWORK: 'none' }, /^DOCKER_NETWORK: must not be none — agents could not reach Redis/],
    [{ DOCKER_NETWORK: 'HOST' }, /^DOCKER_NETWORK: must not be host/],
    [
      { REDIS_AGENT_URL: 'redis://job:pw@redis:6379' },
      /^REDIS_AGENT_URL: must carry no user or password — each agent gets its own per-job user/,
    ],
    [{ REDIS_AGENT_URL: 'http://redis:6379' }, /^REDIS_AGENT_URL: must use redis:\/\/ or rediss:\/\//],
    [{ WORKSPACE_ROOT: '/' }, /^WORKSPACE_ROOT: must be a plain absolute directory other than \//],
    [{ WORKSPACE_ROOT: 'srv/checkouts' }, /^WORKSPACE_ROOT: must be a plain absolute directory/],
    [{ WORKSPACE_ROOT: '/srv/../etc' }, /^WORKSPACE_ROOT: must be a plain absolute directory/],
    [{ AGENT_RUNTIME: 'run sc' }, /^AGENT_RUNTIME: is not a runtime name/],
    [{ LISTEN_HOST: 'every where' }, /^LISTEN_HOST: must be an IP address to bind/],
  ])('refuses the containment setting %j', (extra, problem) => {
    expect(problemsOf({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, ...extra })).toEqual([expect.stringMatching(problem)]);
  });

  it('keeps a SLACK_API_URL that already ends with /', () => {
    expect(loadConfig({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, SLACK_API_URL: 'https://slack-gov.com/api/' }).slack.apiUrl).toBe(
      'https://slack-gov.com/api/',
    );
  });

  it('treats empty and blank values as unset', () => {
    const config = loadConfig({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, PORT: '', REDIS_URL: '  ', OLLAMA_URL: '', LOG_LEVEL: '' });
    expect(config.port).toBe(3000);
    expect(config.redis.url).toBe('redis://localhost:6379');
    expect(config.inference.ollamaUrls).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(problemsOf({ SLACK_BOT_TOKEN: '', SLACK_APP_TOKEN: APP })).toEqual([expect.stringMatching(/^SLACK_BOT_TOKEN: required — /)]);
  });

  it('ignores unrelated variables', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, PATH: '/usr/bin', HOME: '/root' })).not.toThrow();
  });

  it('reports every problem at once, one line per variable, in table order', () => {
    const problems = problemsOf({
      SLACK_MODE: 'websocket',
      SLACK_API_URL: 'slack.com/api',
      PORT: '70000',
      REDIS_URL: 'http://localhost:6379',
      SPAWNER_TYPE: 'podman',
      K8S_NAMESPACE: 'Bad_NS',
      MAX_CONCURRENT_JOBS: '0',
      OLLAMA_URL: 'gpu-box:11434',
      LOG_LEVEL: 'verbose',
    });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'SLACK_BOT_TOKEN',
      'SLACK_MODE',
      'SLACK_API_URL',
      'PORT',
      'REDIS_URL',
      'SPAWNER_TYPE',
      'K8S_NAMESPACE',
      'MAX_CONCURRENT_JOBS',
      'OLLAMA_URL',
      'LOG_LEVEL',
    ]);
    // Every line is `NAME: what is wrong — how to fix it`.
    for (const p of problems) expect(p).toMatch(/^[A-Z0-9_]+: .+ — .+/);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ SLACK_APP_TOKEN: APP }, /^SLACK_BOT_TOKEN: required — copy the Bot User OAuth Token/],
    [
      { SLACK_BOT_TOKEN: BOT },
      /^SLACK_APP_TOKEN: required when SLACK_MODE=socket — create an app-level token with the connections:write scope .* or set SLACK_MODE=http$/,
    ],
    [
      { SLACK_BOT_TOKEN: BOT, SLACK_MODE: 'http' },
      /^SLACK_SIGNING_SECRET: required when SLACK_MODE=http — .*Signing Secret.*or set SLACK_MODE=socket$/,
    ],
    [
      { SLACK_BOT_TOKEN: 'xoxp-1-2-3', SLACK_APP_TOKEN: APP },
      /^SLACK_BOT_TOKEN: must start with xoxb- but looks like a user token \(xoxp-…\) — /,
    ],
    [{ SLACK_BOT_TOKEN: APP, SLACK_APP_TOKEN: APP }, /^SLACK_BOT_TOKEN: must start with xoxb- but looks like an app-level token/],
    [{ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: BOT }, /^SLACK_APP_TOKEN: must start with xapp- but looks like a bot token/],
    [{ SLACK_BOT_TOKEN: `"${BOT}"`, SLACK_APP_TOKEN: APP }, /^SLACK_BOT_TOKEN: must not be quoted — /],
    [{ SLACK_BOT_TOKEN: `${BOT}\n`, SLACK_APP_TOKEN: APP }, /^SLACK_BOT_TOKEN: contains whitespace — /],
    [{ SLACK_BOT_TOKEN: 'xoxb-', SLACK_APP_TOKEN: APP }, /^SLACK_BOT_TOKEN: is only the xoxb- prefix — /],
    [
      { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, SLACK_API_URL: 'ftp://slack.com/api' },
      /^SLACK_API_URL: must use http:\/\/ or https:\/\//,
    ],
    [{ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, PORT: '0' }, /^PORT: must be at least 1 — /],
    [{ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, PORT: '65536' }, /^PORT: must be between 1 and 65535 — /],
    [{ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, PORT: '3000.5' }, /^PORT: must be a whole number — /],
    [{ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, REDIS_URL: 'localhost:6379' }, /^REDIS_URL: must use redis:\/\/ or rediss:\/\//],
    [{ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, REDIS_URL: 'redis:///0' }, /^REDIS_URL: has no host — /],
    [{ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, MAX_CONCURRENT_JOBS: 'two' }, /^MAX_CONCURRENT_JOBS: must be a whole number — /],
    [{ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, MAX_CONCURRENT_JOBS: '-1' }, /^MAX_CONCURRENT_JOBS: must be a whole number — /],
    [{ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, DOCKER_HOST: 'docker.sock' }, /^DOCKER_HOST: must be a socket path or URL — /],
    [
      { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, LOG_LEVEL: 'verbose' },
      /^LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent — /,
    ],
    [
      { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, SLACK_CALL_RETRIES: 'many' },
      /^SLACK_CALL_RETRIES: must be a whole number from 0 to 99 — /,
    ],
    [
      { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, SLACK_METHOD_BUDGETS: 'chat.update:40' },
      /^SLACK_METHOD_BUDGETS: "chat.update:40" is not method=calls-per-minute .* — list method=calls-per-minute pairs/,
    ],
    [{ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP, SLACK_CHANNEL_POST_BUDGET: '0' }, /^SLACK_CHANNEL_POST_BUDGET: must be at least 1 — /],
  ])('%j → %s', (env, expected) => {
    expect(problemsOf(env)).toEqual([expect.stringMatching(expected)]);
  });

  it('SLACK_MODE=local needs no Slack variable at all', () => {
    const config = loadConfig({ SLACK_MODE: 'local' });
    expect(config.slack).toEqual({ mode: 'local', apiUrl: 'https://slack.com/api/' });
    expect(config.dashboardToken).toBeUndefined();
    // It has no login: it binds loopback unless LISTEN_HOST says otherwise (Compose does, inside its container).
    expect(config.listenHost).toBe('127.0.0.1');
    expect(loadConfig({ SLACK_MODE: 'local', LISTEN_HOST: '0.0.0.0' }).listenHost).toBe('0.0.0.0');
  });

  it('DASHBOARD_TOKEN is read, and refused when too short to be a secret', () => {
    const token = 'a'.repeat(24);
    expect(loadConfig({ SLACK_MODE: 'local', DASHBOARD_TOKEN: token }).dashboardToken).toBe(token);
    const problems = problemsOf({ SLACK_MODE: 'local', DASHBOARD_TOKEN: 'short secret' });
    expect(problems).toEqual([expect.stringMatching(/^DASHBOARD_TOKEN: must be at least 16 characters without spaces — /)]);
    expect(problems.join()).not.toContain('short secret');
  });

  it('skips mode-dependent checks when SLACK_MODE itself is invalid', () => {
    expect(problemsOf({ SLACK_BOT_TOKEN: BOT, SLACK_MODE: 'both' })).toEqual([
      expect.stringMatching(/^SLACK_MODE: must be one of socket, http, local — /),
    ]);
  });

  it('never puts a secret value into a problem or the message', () => {
    const redisPassword = 'RedisPassw0rdSecret';
    const env = {
      SLACK_BOT_TOKEN: 'xoxp-9999-SeCrEtUsErToKeN',
      SLACK_APP_TOKEN: 'not-a-token-SeCrEtAppValue',
      SLACK_SIGNING_SECRET: 'secret with spaces SeCrEtSiGn',
      REDIS_URL: `http://:${redisPassword}@redis:6379`,
      OLLAMA_URL: `ftp://user:${redisPassword}@gpu`,
    };
    let error: ConfigError | undefined;
    try {
      loadConfig(env);
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error?.problems).toHaveLength(5);
    for (const text of [error!.message, ...error!.problems]) {
      expect(text).not.toMatch(/SeCrEt|Passw0rd/);
    }
  });

  it('ConfigError carries code, source and a readable message', () => {
    const err = new ConfigError('environment', ['A: one — fix a', 'B: two — fix b']);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.name).toBe('ConfigError');
    expect(err.source).toBe('environment');
    expect(err.message).toBe('Invalid configuration in environment:\n  - A: one — fix a\n  - B: two — fix b');
  });
});
