// Issue 5, "Permissions" and "Catalogue env:": DMs, senders from other teams,
// catalogue-wide defaults, refusals that name only usable projects, and the
// env names a project may not take.
import { parseCatalogue } from '../../../src/config/catalogue.js';
import type { ConfigError } from '../../../src/errors.js';
import { isExternalSender, mayDispatch, mayUse, projectsFor } from '../../../src/domain/permissions.js';
import { reservedEnvName } from '../../../src/config/catalogue-schema.js';

const cat = parseCatalogue(
  `
defaults:
  agent: { command: [x] }
  channels: [C0DEV0001]
projects:
  dev-default:
    repo: https://github.com/acme/dev.git
  dm-ok:
    repo: https://github.com/acme/dm.git
    allowDMs: true
    channels: [C0OPS0001]
  secret:
    repo: https://github.com/acme/secret.git
    users: [U0ALICE]
    admins: [U0BOSS]
  shared:
    repo: https://github.com/acme/shared.git
    users: [U0ALICE, U0PARTNER]
`,
  'projects.yml',
);
const p = (name: string) => cat.get(name)!;

describe('catalogue-wide defaults for channels and users', () => {
  test('defaults.channels applies to every project that does not set its own', () => {
    expect(p('dev-default').channels).toEqual(['C0DEV0001']);
    expect(p('dm-ok').channels).toEqual(['C0OPS0001']);
    expect(mayDispatch(p('dev-default'), 'C0OTHER01', 'U0ANY').ok).toBe(false);
  });

  test('defaults.users and defaults.allowDMs apply to every project', () => {
    const c = parseCatalogue(
      'defaults:\n  agent: { command: [x] }\n  users: [U0ALICE]\n  allowDMs: true\nprojects:\n  a:\n    repo: https://x/a/b.git\n',
      'p.yml',
    );
    expect(c.get('a')).toMatchObject({ users: ['U0ALICE'], allowDMs: true });
    expect(mayDispatch(c.get('a')!, 'D0DM00001', 'U0ALICE')).toEqual({ ok: true });
    expect(mayDispatch(c.get('a')!, 'C0ANY0001', 'U0BOB').ok).toBe(false);
  });

  test('allowDMs must be a boolean', () => {
    expect(() =>
      parseCatalogue('projects:\n  a:\n    repo: https://x/a/b.git\n    agent: { command: [x] }\n    allowDMs: "yes"\n', 'p.yml'),
    ).toThrow(/projects\.a\.allowDMs: must be true or false/);
  });
});

describe('direct messages', () => {
  test('a DM dispatches only when the project allows it (allowDMs, default false)', () => {
    expect(p('dev-default').allowDMs).toBeUndefined();
    expect(mayDispatch(p('dev-default'), 'D0DM00001', 'U0ANY')).toMatchObject({ ok: false, refusal: 'dm', channels: ['C0DEV0001'] });
    expect(mayDispatch(p('dm-ok'), 'D0DM00001', 'U0ANY')).toEqual({ ok: true });
  });

  test('the DM flag from the event wins over the channel ID', () => {
    expect(mayDispatch(p('dev-default'), 'C0DEV0001', 'U0ANY', { dm: true })).toMatchObject({ ok: false, refusal: 'dm' });
  });

  test('projectsFor in a DM lists only projects that allow DMs', () => {
    expect(projectsFor(cat, 'D0DM00001', 'U0ALICE').map((x) => x.name)).toEqual(['dm-ok']);
  });
});

describe('senders from another team (Slack Connect)', () => {
  test('isExternalSender compares the sender team with the workspace team', () => {
    expect(isExternalSender('T0OTHER', 'T0HOME')).toBe(true);
    expect(isExternalSender('T0HOME', 'T0HOME')).toBe(false);
    expect(isExternalSender(undefined, 'T0HOME')).toBe(false);
  });

  test('are refused unless the project lists them in users', () => {
    const external = { external: true };
    expect(mayDispatch(p('dev-default'), 'C0DEV0001', 'U0PARTNER', external)).toMatchObject({ ok: false, refusal: 'external' });
    expect(mayDispatch(p('shared'), 'C0DEV0001', 'U0PARTNER', external)).toEqual({ ok: true });
    expect(mayUse(p('secret'), 'U0PARTNER', external)).toBe(false);
    expect(projectsFor(cat, 'C0DEV0001', 'U0PARTNER', external).map((x) => x.name)).toEqual(['shared']);
  });
});

describe('refusals name only what the sender may use', () => {
  test('a user not on the list learns neither the admins nor the channels', () => {
    const r = mayDispatch(p('secret'), 'C0OTHER01', 'U0MALLORY');
    expect(r).toMatchObject({ ok: false, refusal: 'not-listed' });
    expect(JSON.stringify(r)).not.toMatch(/U0BOSS|C0DEV0001/);
  });

  test('a listed user in the wrong channel learns where to ask', () => {
    expect(mayDispatch(p('secret'), 'C0OTHER01', 'U0ALICE')).toMatchObject({ ok: false, refusal: 'channel', channels: ['C0DEV0001'] });
  });
});

describe('catalogue env: names the dispatcher or the contract uses are refused', () => {
  const withEnv = (names: string[]) =>
    `projects:\n  a:\n    repo: https://x/a/b.git\n    agent: { command: [x] }\n    env: [${names.join(', ')}]\n`;
  const problemsOf = (yaml: string): string[] => {
    try {
      parseCatalogue(yaml, 'p.yml');
    } catch (e) {
      return (e as ConfigError).problems;
    }
    return [];
  };

  test.each([
    'SLACK_BOT_TOKEN',
    'SLACK_SIGNING_SECRET',
    'REDIS_URL',
    'REDIS_PASSWORD',
    'DOCKER_HOST',
    'NODE_OPTIONS',
    'PROJECTS_FILE',
    'LOG_LEVEL',
  ])("%s is refused as one of the dispatcher's own settings", (name) => {
    expect(problemsOf(withEnv([name]))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^projects\\.a\\.env\\[0\\]: ${name} is one of the dispatcher's own settings .* — give the agent a credential of its own`,
        ),
      ),
    ]);
  });

  test.each(['JOB_ID', 'PROJECT', 'CHANNEL_ID', 'USER_ID', 'REDIS_PREFIX', 'SWITCHBOARD_REDIS_URL', 'SWITCHBOARD_PROMPT'])(
    '%s is refused as a name of the agent contract',
    (name) => {
      expect(problemsOf(withEnv([name]))).toEqual([
        expect.stringMatching(new RegExp(`^projects\\.a\\.env\\[0\\]: ${name} is set by Switchboard itself for every agent`)),
      ]);
    },
  );

  test('ordinary names pass, and every bad entry is reported at once (defaults too)', () => {
    expect(problemsOf(withEnv(['GITHUB_TOKEN', 'NPM_TOKEN']))).toEqual([]);
    expect(reservedEnvName('GITHUB_TOKEN')).toBeUndefined();
    const yaml = `defaults:\n  env: [SLACK_APP_TOKEN]\n${withEnv(['GITHUB_TOKEN', 'JOB_ID', 'REDIS_URL'])}`;
    expect(problemsOf(yaml).map((l) => l.split(':')[0])).toEqual(['defaults.env[0]', 'projects.a.env[1]', 'projects.a.env[2]']);
  });
});
