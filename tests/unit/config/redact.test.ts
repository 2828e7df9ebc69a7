import { loadConfig } from '../../../src/config/env.js';
import { configSecrets, redactConfig, redactToken, redactUrl } from '../../../src/config/redact.js';
import { redactSecrets } from '../../../src/domain/text.js';

const BOT = 'xoxb-1111-2222-SeCrEtBoTtOkEn';
const APP = 'xapp-1-A111-3333-SeCrEtApPtOkEn';
const SIGNING = '8f742231b10e8888abcd99SeCrEt85a5';

describe('redactConfig', () => {
  const config = loadConfig({
    SLACK_BOT_TOKEN: BOT,
    SLACK_APP_TOKEN: APP,
    SLACK_SIGNING_SECRET: SIGNING,
    REDIS_URL: 'redis://:RedisSeCrEt@redis.internal:6379/0',
    OLLAMA_URL: 'https://ollama:OllamaSeCrEt@gpu.internal:11434',
  });

  it('keeps only the known token prefix and masks URL credentials', () => {
    const safe = redactConfig(config);
    expect(safe).toEqual({
      slack: {
        mode: 'socket',
        botToken: 'xoxb-…(redacted)',
        appToken: 'xapp-…(redacted)',
        signingSecret: '(redacted)',
        apiUrl: 'https://slack.com/api/',
      },
      port: 3000,
      listenHost: '0.0.0.0',
      redis: { url: 'redis://:***@redis.internal:6379/0', prefix: 'sb:', agentUrl: 'redis://redis.internal:6379' },
      spawner: {
        type: 'docker',
        agentImage: 'switchboard-agent:latest',
        dockerHost: '/var/run/docker.sock',
        dockerNetwork: 'switchboard-agents',
      },
      projectsFile: './projects.yml',
      maxConcurrentJobs: 4,
      inference: {
        ollamaUrls: 'https://ollama:***@gpu.internal:11434/',
        slots: 1,
        port: 3001,
        listenHost: '0.0.0.0',
        firstTokenTimeoutMs: 120_000,
      },
      logLevel: 'info',
      slackDelivery: { callTimeoutMs: 10_000, callRetries: 3, methodBudgets: {}, channelPostBudget: 60 },
    });
    expect(JSON.stringify(safe)).not.toContain('SeCrEt');
  });

  it('does not modify the config it is given', () => {
    redactConfig(config);
    expect(config.slack.botToken).toBe(BOT);
    expect(config.redis.url).toBe('redis://:RedisSeCrEt@redis.internal:6379/0');
  });

  it('leaves out secrets that are not set', () => {
    const safe = redactConfig(loadConfig({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP })) as { slack: Record<string, unknown> };
    expect(safe.slack).not.toHaveProperty('signingSecret');
  });
});

describe('redactToken / redactUrl', () => {
  it.each([
    [BOT, 'xoxb-…(redacted)'],
    ['xoxp-123-secret', 'xoxp-…(redacted)'],
    [APP, 'xapp-…(redacted)'],
    ['no-known-prefix-secret', '(redacted)'],
  ])('%s → %s', (token, expected) => {
    expect(redactToken(token)).toBe(expected);
  });

  it.each([
    ['redis://localhost:6379', 'redis://localhost:6379'],
    ['redis://:pass@host:6379', 'redis://:***@host:6379'],
    ['rediss://default:pass@host:6380/1', 'rediss://default:***@host:6380/1'],
    ['redis://onlysecret@host', 'redis://***@host'],
    ['redis://host:6379/0?password=hunter22&db=1', 'redis://host:6379/0?password=***&db=1'],
    ['/var/run/docker.sock', '/var/run/docker.sock'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

describe('redactSecrets', () => {
  it('replaces every occurrence of each secret', () => {
    expect(redactSecrets(`auth ${BOT} failed; retry with ${BOT} and ${APP}`, [BOT, APP])).toBe(
      'auth [redacted] failed; retry with [redacted] and [redacted]',
    );
  });

  it('ignores secrets shorter than 6 characters, and empty ones', () => {
    expect(redactSecrets('the word abc stays, abcdef goes', ['abc', '', 'abcdef'])).toBe('the word abc stays, [redacted] goes');
  });

  it('removes a secret containing another one whole', () => {
    expect(redactSecrets('token=secret-value-long', ['secret-value', 'secret-value-long'])).toBe('token=[redacted]');
  });

  it('also catches the URL-encoded form', () => {
    expect(redactSecrets('GET /x?key=p%40ss%2Fword1', ['p@ss/word1'])).toBe('GET /x?key=[redacted]');
  });

  it('treats secrets literally, not as patterns', () => {
    expect(redactSecrets('a.b*c+d(e) and axbxcxd', ['a.b*c+d(e)'])).toBe('[redacted] and axbxcxd');
  });

  it('configSecrets lists what must never be printed, including URL passwords', () => {
    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT,
      SLACK_APP_TOKEN: APP,
      SLACK_SIGNING_SECRET: SIGNING,
      REDIS_URL: 'redis://:Redis%40Pass@host:6379',
    });
    const secrets = configSecrets(config);
    expect(secrets).toEqual(expect.arrayContaining([BOT, APP, SIGNING, 'Redis@Pass']));
    const line = `connect redis://:Redis%40Pass@host failed for ${BOT} / ${SIGNING}`;
    expect(redactSecrets(line, secrets)).toBe('connect redis://:[redacted]@host failed for [redacted] / [redacted]');
  });
});
