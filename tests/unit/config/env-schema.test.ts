import { ENV_NAMES, SETTINGS, loadConfig } from '../../../src/config/env.js';
import { configSecrets, redactConfig } from '../../../src/config/redact.js';

describe('the config schema', () => {
  it('lists every variable once, in the order of DESIGN §3', () => {
    expect(new Set(ENV_NAMES).size).toBe(ENV_NAMES.length);
    expect(ENV_NAMES.slice(0, 5)).toEqual(['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_MODE', 'SLACK_API_URL']);
    expect(ENV_NAMES).toEqual(expect.arrayContaining(['REDIS_URL', 'DOCKER_HOST', 'PROJECTS_FILE', 'LOG_LEVEL']));
  });

  it('marks the tokens, the signing secret and the URLs as secrets', () => {
    const secretOf = (env: string) => SETTINGS.find((s) => s.env === env)?.secret;
    expect(secretOf('SLACK_BOT_TOKEN')).toBe('token');
    expect(secretOf('SLACK_APP_TOKEN')).toBe('token');
    expect(secretOf('SLACK_SIGNING_SECRET')).toBe('secret');
    expect(secretOf('REDIS_URL')).toBe('url');
    expect(secretOf('OLLAMA_URL')).toBe('url');
    expect(secretOf('PORT')).toBeUndefined();
  });

  it('redacts every secret setting, whatever its place in Config (derived from the schema)', () => {
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1-SeCrEtBot',
      SLACK_APP_TOKEN: 'xapp-1-SeCrEtApp',
      SLACK_SIGNING_SECRET: 'SeCrEtSigning',
      REDIS_URL: 'redis://:SeCrEtRedis@redis:6379',
      OLLAMA_URL: 'http://u:SeCrEtOllama@gpu:11434',
      DOCKER_HOST: 'tcp://docker:SeCrEtDocker@engine:2375',
    });
    expect(JSON.stringify(redactConfig(config))).not.toContain('SeCrEt');
    expect(configSecrets(config)).toEqual(
      expect.arrayContaining(['xoxb-1-SeCrEtBot', 'xapp-1-SeCrEtApp', 'SeCrEtSigning', 'SeCrEtRedis', 'SeCrEtOllama', 'SeCrEtDocker']),
    );
  });
});
