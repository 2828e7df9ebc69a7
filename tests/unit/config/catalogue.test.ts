import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CatalogueWatcher,
  findProjectByRepo,
  loadCatalogue,
  mayDispatch,
  parseCatalogue,
  parseMemory,
  projectsFor,
  type Catalogue,
  type Project,
} from '../../../src/config/catalogue.js';
import { ConfigError } from '../../../src/config/env.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

const BASIC = `
defaults:
  timeoutMinutes: 30
  resources: { cpus: 2, memory: 4g }
  agent: { command: ["claude", "-p", "{prompt}"] }
projects:
  billing-api:
    repo: https://github.com/acme/billing-api.git
    branch: develop
    tracker: { type: github, repo: acme/billing-api }
    channels: [C0123ABCD, C0456EFGH]
    users: [U0123ABCD]
    admins: [U0999ABCD]
    env: [GITHUB_TOKEN]
    priority: 10
    resources: { memory: 1.5g }
  local:
    workspace: /srv/checkouts/local
    agent: { backend: ollama, model: "qwen2.5-coder:32b" }
    timeoutMinutes: 90
    resources: { cpus: 0.5 }
`;

function problemsOf(yaml: string): string[] {
  try {
    parseCatalogue(yaml, 'projects.yml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).source).toBe('projects.yml');
    return (e as ConfigError).problems;
  }
  throw new Error('expected parseCatalogue to throw');
}

/** A project with just the given body (indented under projects.p). */
const one = (body: string, name = 'p') =>
  `projects:\n  ${name}:\n${body
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\n`;

describe('parseCatalogue', () => {
  it('merges defaults into every project; a project’s own values win', () => {
    const cat = parseCatalogue(BASIC, 'projects.yml');
    expect([...cat.projects.keys()]).toEqual(['billing-api', 'local']);
    expect(cat.get('billing-api')).toEqual<Project>({
      name: 'billing-api',
      repo: 'https://github.com/acme/billing-api.git',
      branch: 'develop',
      tracker: { type: 'github', repo: 'acme/billing-api' },
      agent: { command: ['claude', '-p', '{prompt}'] },
      channels: ['C0123ABCD', 'C0456EFGH'],
      users: ['U0123ABCD'],
      admins: ['U0999ABCD'],
      env: ['GITHUB_TOKEN'],
      priority: 10,
      timeoutMinutes: 30,
      resources: { cpus: 2, memoryBytes: 1.5 * GiB },
    });
    expect(cat.get('local')).toEqual<Project>({
      name: 'local',
      workspace: '/srv/checkouts/local',
      branch: 'main',
      // The built-in agent's caps default; its time cap ends before timeoutMinutes (90).
      agent: { backend: 'ollama', model: 'qwen2.5-coder:32b', allow: [], maxIterations: 30, maxTokens: 500_000, maxMinutes: 88 },
      admins: [],
      env: [],
      priority: 0,
      timeoutMinutes: 90,
      resources: { cpus: 0.5, memoryBytes: 4 * GiB },
    });
  });

  it('applies the built-in defaults when there is no defaults section', () => {
    const p = parseCatalogue(one('repo: git@github.com:acme/p.git\nagent: { command: [aider] }'), 'x').get('p');
    expect(p).toMatchObject({
      branch: 'main',
      timeoutMinutes: 60,
      priority: 0,
      admins: [],
      env: [],
      resources: { cpus: 2, memoryBytes: 4 * GiB },
    });
    expect(p).not.toHaveProperty('channels');
    expect(p).not.toHaveProperty('users');
  });

  it('looks projects up case-insensitively', () => {
    const cat = parseCatalogue(BASIC, 'projects.yml');
    expect(cat.get('Billing-API')?.name).toBe('billing-api');
    expect(cat.get('nope')).toBeUndefined();
  });

  it('accepts the shipped projects.example.yml', () => {
    const text = readFileSync(new URL('../../../projects.example.yml', import.meta.url), 'utf8');
    const cat = parseCatalogue(text, 'projects.example.yml');
    expect(cat.get('demo')).toMatchObject({ repo: 'https://github.com/acme/demo.git', agent: { command: ['claude', '-p', '{prompt}'] } });
    // The commented-out workspace example is valid too once uncommented.
    const uncommented = text.replace(/^ {2}# ?( {2}\S.*|billing-api:.*)$/gm, '  $1');
    expect(parseCatalogue(uncommented, 'uncommented').get('billing-api')).toMatchObject({
      workspace: '/srv/checkouts/billing-api',
      agent: { backend: 'ollama', model: 'qwen2.5-coder:32b', allow: [['npm', 'test']], maxMinutes: 88 },
      resources: { cpus: 2, memoryBytes: 8 * GiB },
    });
  });

  it('reports every problem at once, each naming its path', () => {
    const problems = problemsOf(`
defaults:
  timeoutMinutes: 0
  resourses: { cpus: 2 }
projects:
  billing-api:
    repo: https://github.com/acme/billing-api.git
    workspace: /srv/billing
    chanels: [C0123ABCD]
    agent: { command: [claude] }
  web:
    repo: https://github.com/acme/web.git
    env: [GITHUB_TOKEN, github-token]
    users: ['@alice']
    agent: { backend: ollama }
  "bad name":
    workspace: relative/path
    agent: { command: [x] }
  nothing:
    agent: { command: [x] }
extra: 1
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        'extra: unknown key — allowed here: defaults, projects',
        expect.stringMatching(/^defaults\.timeoutMinutes: must be at least 1/),
        'defaults.resourses: unknown key — did you mean resources?',
        'projects.billing-api: give either repo or workspace, not both',
        'projects.billing-api.chanels: unknown key — did you mean channels?',
        expect.stringMatching(/^projects\.web\.env\[1\]: not an environment variable name — /),
        expect.stringMatching(/^projects\.web\.users\[0\]: not a user ID — /),
        expect.stringMatching(/^projects\.web\.agent\.model: required with backend: ollama — /),
        expect.stringMatching(/^projects\.bad name: invalid project name — /),
        expect.stringMatching(/^projects\.bad name\.workspace: must be an absolute host path/),
        'projects.nothing: give repo (a git URL the agent clones) or workspace (an absolute host path, docker only)',
      ]),
    );
    expect(problems).toHaveLength(11);
  });

  it.each<[string, string, RegExp]>([
    [
      'unknown key',
      'repo: https://x/a/b.git\nagent: { command: [x] }\nprioritty: 1',
      /^projects\.p\.prioritty: unknown key — did you mean priority\?$/,
    ],
    [
      'unknown nested key',
      'repo: https://x/a/b.git\nagent: { comand: [x] }',
      /^projects\.p\.agent\.comand: unknown key — did you mean command\?$/,
    ],
    ['missing agent', 'repo: https://x/a/b.git', /^projects\.p\.agent: required — give agent\.command/],
    [
      'command and backend',
      'repo: https://x/a/b.git\nagent: { command: [x], backend: ollama, model: m }',
      /^projects\.p\.agent: give either command or backend \+ model, not both$/,
    ],
    ['empty command', 'repo: https://x/a/b.git\nagent: { command: [] }', /^projects\.p\.agent\.command: must not be empty/],
    [
      'command as a string',
      'repo: https://x/a/b.git\nagent: { command: "claude -p" }',
      /^projects\.p\.agent\.command: must be a list of arguments/,
    ],
    [
      'unknown backend',
      'repo: https://x/a/b.git\nagent: { backend: openai, model: m }',
      /^projects\.p\.agent\.backend: the only built-in backend is ollama$/,
    ],
    ['bad repo', 'repo: github.com/acme/x\nagent: { command: [x] }', /^projects\.p\.repo: is not a git URL — /],
    [
      'bad tracker type',
      'repo: https://x/a/b.git\nagent: { command: [x] }\ntracker: { type: trello, repo: a/b }',
      /^projects\.p\.tracker\.type: must be github, gitlab or jira$/,
    ],
    [
      'bad github tracker repo',
      'repo: https://x/a/b.git\nagent: { command: [x] }\ntracker: { type: github, repo: billing }',
      /^projects\.p\.tracker\.repo: must be owner\/name/,
    ],
    [
      'channel name instead of ID',
      'repo: https://x/a/b.git\nagent: { command: [x] }\nchannels: ["#general"]',
      /^projects\.p\.channels\[0\]: not a channel ID — use the channel ID/,
    ],
    [
      'empty channel list',
      'repo: https://x/a/b.git\nagent: { command: [x] }\nchannels: []',
      /^projects\.p\.channels: is empty, so nobody could use it — /,
    ],
    [
      'fractional priority',
      'repo: https://x/a/b.git\nagent: { command: [x] }\npriority: 1.5',
      /^projects\.p\.priority: must be a whole number/,
    ],
    [
      'bad memory',
      'repo: https://x/a/b.git\nagent: { command: [x] }\nresources: { memory: lots }',
      /^projects\.p\.resources\.memory: must be a size like 512m, 4g or 4Gi/,
    ],
    [
      'tiny memory',
      'repo: https://x/a/b.git\nagent: { command: [x] }\nresources: { memory: 1m }',
      /^projects\.p\.resources\.memory: is below the 6m minimum/,
    ],
    [
      'zero cpus',
      'repo: https://x/a/b.git\nagent: { command: [x] }\nresources: { cpus: 0 }',
      /^projects\.p\.resources\.cpus: must be more than 0$/,
    ],
    ['wrong type', 'repo: https://x/a/b.git\nagent: { command: [x] }\nbranch: 7', /^projects\.p\.branch: must be a branch name$/],
    [
      'allow with a command',
      'repo: https://x/a/b.git\nagent: { command: [x], allow: [[npm, test]] }',
      /^projects\.p\.agent: allow only apply to the built-in agent \(backend: ollama\) — /,
    ],
    [
      'allow as one string',
      'repo: https://x/a/b.git\nagent: { backend: ollama, model: m, allow: ["npm test"] }',
      /^projects\.p\.agent\.allow\[0\]: must be a command as a list of arguments/,
    ],
    [
      'allow with an empty command',
      'repo: https://x/a/b.git\nagent: { backend: ollama, model: m, allow: [[]] }',
      /^projects\.p\.agent\.allow\[0\]: must not be empty/,
    ],
    [
      'fractional iterations',
      'repo: https://x/a/b.git\nagent: { backend: ollama, model: m, maxIterations: 2.5 }',
      /^projects\.p\.agent\.maxIterations: must be a whole number$/,
    ],
    [
      'zero tokens',
      'repo: https://x/a/b.git\nagent: { backend: ollama, model: m, maxTokens: 0 }',
      /^projects\.p\.agent\.maxTokens: must be at least 1$/,
    ],
    [
      'time cap past the timeout',
      'repo: https://x/a/b.git\ntimeoutMinutes: 20\nagent: { backend: ollama, model: m, maxMinutes: 20 }',
      /^projects\.p\.agent\.maxMinutes: must be less than the project's timeoutMinutes \(20\)/,
    ],
  ])('%s', (_label, body, expected) => {
    expect(problemsOf(one(body))).toEqual([expect.stringMatching(expected)]);
  });

  it.each<[string, string, RegExp]>([
    ['empty file', '', /^\(file\): is empty — /],
    ['a list', '- a\n- b\n', /^\(file\): must be a mapping with projects: /],
    ['projects as a list', 'projects:\n  - name: a\n', /^projects: must be a mapping of project name → settings, not a list/],
    ['no projects', 'defaults: {}\n', /^projects: required — /],
    ['empty projects', 'projects: {}\n', /^projects: is empty — /],
    ['YAML syntax', 'projects:\n  a: [\n', /^line \d+, column \d+: .* — fix the YAML syntax/],
    ['duplicate keys', 'projects:\n  a: {}\n  a: {}\n', /^line 3, column 3: Map keys must be unique — /],
    ['project not a mapping', 'projects:\n  a: yes\n', /^projects\.a: must be a mapping of settings/],
  ])('file-level problem: %s', (_label, yaml, expected) => {
    expect(problemsOf(yaml)).toEqual([expect.stringMatching(expected)]);
  });

  it('rejects names that collide apart from case', () => {
    const body = 'repo: https://x/a/b.git\nagent: { command: [x] }';
    const yaml = `${one(body, 'web')}  WEB:\n    repo: https://x/a/c.git\n    agent: { command: [x] }\n`;
    expect(problemsOf(yaml)).toEqual([expect.stringMatching(/^projects\.WEB: same name as web apart from case/)]);
  });

  it("takes the built-in agent's allowed commands and caps; the time cap defaults to the timeout less 2 minutes, at least half of it", () => {
    const cat = parseCatalogue(
      `${one('repo: https://x/a/b.git\nagent: { backend: ollama, model: m, allow: [[npm, test], [node, --test, "..."]], maxIterations: 5, maxTokens: 9000, maxMinutes: 1.5 }')}` +
        '  short:\n    repo: https://x/a/c.git\n    timeoutMinutes: 3\n    agent: { backend: ollama, model: m }\n',
      'x',
    );
    expect(cat.get('p')?.agent).toEqual({
      backend: 'ollama',
      model: 'm',
      allow: [
        ['npm', 'test'],
        ['node', '--test', '...'],
      ],
      maxIterations: 5,
      maxTokens: 9000,
      maxMinutes: 1.5,
    });
    expect(cat.get('short')?.agent).toMatchObject({ allow: [], maxMinutes: 1.5 });
  });

  it('reports a bad defaults value once, not once per project', () => {
    const yaml = `defaults:\n  agent: { backend: ollama }\n${one('repo: https://x/a/b.git', 'a')}  b:\n    repo: https://x/a/c.git\n`;
    expect(problemsOf(yaml)).toEqual([
      'defaults.agent.model: required with backend: ollama — name a model the inference router serves, like qwen2.5-coder:32b',
    ]);
  });
});

describe('parseMemory', () => {
  it.each<[string | number, number | undefined]>([
    ['512m', 512 * MiB],
    ['4g', 4 * GiB],
    ['1.5g', 1.5 * GiB],
    ['4Gi', 4 * GiB],
    ['2048Mi', 2048 * MiB],
    ['4G', 4 * GiB],
    ['4GB', 4 * GiB],
    ['100k', 100 * 1024],
    ['1t', 2 ** 40],
    [' 8g ', 8 * GiB],
    ['1048576', 1048576],
    [1048576, 1048576],
    ['', undefined],
    ['4 gigs', undefined],
    ['-1g', undefined],
    ['0', undefined],
    [0, undefined],
    ['4Xi', undefined],
    ['5i', undefined],
  ])('%j → %j', (input, expected) => {
    expect(parseMemory(input)).toBe(expected);
  });
});

describe('permissions', () => {
  const cat = parseCatalogue(
    `
defaults:
  agent: { command: [x] }
projects:
  open:
    repo: https://github.com/acme/open.git
  billing-api:
    repo: https://github.com/acme/billing-api.git
    channels: [C0123ABCD]
    users: [U0123ABCD]
    admins: [U0999ABCD]
  ops:
    repo: https://github.com/acme/ops.git
    users: [U0123ABCD]
  anywhere:
    repo: https://github.com/acme/anywhere.git
    channels: [C0123ABCD, C0456EFGH]
`,
    'projects.yml',
  );
  const p = (name: string) => cat.get(name)!;

  it('allows any channel and user when the lists are omitted', () => {
    expect(mayDispatch(p('open'), 'CANY', 'UANY')).toEqual({ ok: true });
  });

  it('explains a channel refusal and where to ask instead', () => {
    expect(mayDispatch(p('billing-api'), 'C0OTHER', 'U0123ABCD')).toEqual({
      ok: false,
      refusal: 'channel',
      reason: "billing-api can't be started from this channel.",
      channels: ['C0123ABCD'],
    });
    expect(mayDispatch(p('anywhere'), 'C0OTHER', 'U1')).toMatchObject({ channels: ['C0123ABCD', 'C0456EFGH'] });
  });

  it('refuses a user who is not listed without naming the admins or the channels', () => {
    const r = mayDispatch(p('billing-api'), 'C0OTHER', 'U0STRANGER');
    expect(r).toEqual({ ok: false, refusal: 'not-listed', reason: expect.stringContaining('whoever runs Switchboard') });
    expect(JSON.stringify(r)).not.toMatch(/U0999ABCD|C0123ABCD/);
    expect(mayDispatch(p('ops'), 'C1', 'U0STRANGER')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('whoever runs Switchboard'),
    });
  });

  it('lets admins dispatch in an allowed channel even when not listed as users', () => {
    expect(mayDispatch(p('billing-api'), 'C0123ABCD', 'U0999ABCD')).toEqual({ ok: true });
    expect(mayDispatch(p('billing-api'), 'C0OTHER', 'U0999ABCD').ok).toBe(false);
  });

  it('projectsFor lists what this channel AND user may use, sorted by name', () => {
    const names = (channel: string, user: string) => projectsFor(cat, channel, user).map((x) => x.name);
    expect(names('C0123ABCD', 'U0123ABCD')).toEqual(['anywhere', 'billing-api', 'open', 'ops']);
    expect(names('C0123ABCD', 'U0STRANGER')).toEqual(['anywhere', 'open']);
    expect(names('C0456EFGH', 'U0123ABCD')).toEqual(['anywhere', 'open', 'ops']);
    expect(names('C0OTHER', 'U0STRANGER')).toEqual(['open']);
  });
});

describe('findProjectByRepo', () => {
  const cat = parseCatalogue(
    `
defaults:
  agent: { command: [x] }
projects:
  https-form:
    repo: https://github.com/acme/billing-api.git
  scp-form:
    repo: git@github.com:Acme/Web
  ssh-form:
    repo: ssh://git@gitlab.example.com/group/sub/tool.git
  tracked:
    workspace: /srv/checkouts/mono
    tracker: { type: github, repo: acme/mono }
  tracked-wins:
    repo: https://github.com/acme/shared.git
  z-tracker:
    repo: https://github.com/acme/other.git
    tracker: { type: github, repo: acme/shared }
`,
    'projects.yml',
  );
  const find = (q: string) => findProjectByRepo(cat, q)?.name;

  it.each([
    ['acme/billing-api', 'https-form'],
    ['ACME/Billing-API', 'https-form'],
    ['acme/billing-api.git', 'https-form'],
    ['acme/web', 'scp-form'],
    ['group/sub/tool', 'ssh-form'],
    ['acme/mono', 'tracked'],
    ['https://github.com/acme/web', 'scp-form'],
    ['acme/shared', 'z-tracker'],
  ])('%s → %s', (query, expected) => {
    expect(find(query)).toBe(expected);
  });

  it.each(['acme/nope', 'billing-api', '', 'other/billing-api'])('%j → undefined', (query) => {
    expect(find(query)).toBeUndefined();
  });
});

describe('loadCatalogue', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-catalogue-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file', async () => {
    const file = join(dir, 'projects.yml');
    await writeFile(file, BASIC);
    expect([...(await loadCatalogue(file)).projects.keys()]).toEqual(['billing-api', 'local']);
  });

  it('explains a missing file', async () => {
    const file = join(dir, 'missing.yml');
    const err = await loadCatalogue(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      `PROJECTS_FILE: ${file} does not exist — copy projects.example.yml to ${file} or set PROJECTS_FILE`,
    ]);
  });

  it('names the file in an invalid-content error', async () => {
    const file = join(dir, 'projects.yml');
    await writeFile(file, one('repo: https://x/a/b.git'));
    await expect(loadCatalogue(file)).rejects.toThrow(`Invalid configuration in ${file}:\n  - projects.p.agent: required`);
  });
});

describe('CatalogueWatcher', () => {
  let dir: string;
  let file: string;
  let watcher: CatalogueWatcher | undefined;
  const version = (n: number, extra = '') =>
    `defaults:\n  agent: { command: [x] }\nprojects:\n  v${n}:\n    repo: https://github.com/acme/v${n}.git\n${extra}`;

  /** Replaces the file atomically, so a poll never sees it half-written. */
  let writes = 0;
  async function replace(text: string): Promise<void> {
    const tmp = `${file}.${++writes}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, file);
  }

  /** Collects reload/error events; `next()` waits for the next one. */
  function recorder() {
    const queue: (Catalogue | Error)[] = [];
    let wake: (() => void) | undefined;
    const push = (x: Catalogue | Error) => {
      queue.push(x);
      wake?.();
    };
    return {
      onReload: (c: Catalogue) => push(c),
      onError: (e: Error) => push(e),
      async next(): Promise<Catalogue | Error> {
        while (queue.length === 0) await new Promise<void>((r) => (wake = r));
        return queue.shift()!;
      },
      pending: () => queue.length,
    };
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-watch-'));
    file = join(dir, 'projects.yml');
  });
  afterEach(async () => {
    watcher?.close();
    watcher = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('open() throws a ConfigError when the first load is invalid', async () => {
    await writeFile(file, 'projects: {}\n');
    await expect(CatalogueWatcher.open(file, { intervalMs: 10 })).rejects.toBeInstanceOf(ConfigError);
    await expect(CatalogueWatcher.open(join(dir, 'none.yml'))).rejects.toThrow(/does not exist/);
  });

  it('reloads on change and keeps the last good catalogue on an invalid edit', async () => {
    await writeFile(file, version(1));
    const events = recorder();
    watcher = await CatalogueWatcher.open(file, { ...events, intervalMs: 10 });
    expect([...watcher.current().projects.keys()]).toEqual(['v1']);

    await replace(version(2));
    const reloaded = await events.next();
    expect(reloaded).not.toBeInstanceOf(Error);
    expect([...(reloaded as Catalogue).projects.keys()]).toEqual(['v2']);
    expect(watcher.current()).toBe(reloaded);

    await replace(version(3, '    chanels: [C0123ABCD]\n'));
    const error = await events.next();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(['projects.v3.chanels: unknown key — did you mean channels?']);
    expect([...watcher.current().projects.keys()]).toEqual(['v2']);

    // Saving in place (same inode) is noticed too. A poll could in theory
    // catch the file truncated but not yet written; skip such reports.
    await writeFile(file, version(44));
    let again = await events.next();
    while (again instanceof Error) again = await events.next();
    expect([...(again as Catalogue).projects.keys()]).toEqual(['v44']);
    expect(watcher.current()).toBe(again);
  });

  it('reports a deleted file and recovers when it comes back', async () => {
    await writeFile(file, version(1));
    const events = recorder();
    watcher = await CatalogueWatcher.open(file, { ...events, intervalMs: 10 });

    await unlink(file);
    const error = await events.next();
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/does not exist/)]);
    expect(watcher.current().get('v1')).toBeDefined();

    await replace(version(555));
    const back = await events.next();
    expect((back as Catalogue).get('v555')).toBeDefined();
  });

  it('reload() re-reads on demand; close() stops watching', async () => {
    await writeFile(file, version(1));
    const events = recorder();
    // A long interval: only reload() can notice the change.
    watcher = await CatalogueWatcher.open(file, { ...events, intervalMs: 60_000 });
    await writeFile(file, version(2));
    const cat = await watcher.reload();
    expect(cat.get('v2')).toBeDefined();
    expect(events.pending()).toBe(1);

    await writeFile(file, 'not: [valid');
    await expect(watcher.reload()).rejects.toBeInstanceOf(ConfigError);
    expect(watcher.current()).toBe(cat);

    watcher.close();
    await writeFile(file, version(3));
    await watcher.reload();
    expect(events.pending()).toBe(2); // the reload event + the error; none after close
  });
});
