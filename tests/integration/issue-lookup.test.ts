// `fix #58` with no project named and no channel default (DESIGN §2): the
// dispatcher asks every usable project's tracker — local servers that follow
// GitHub's and GitLab's REST APIs — and starts the one project that has the
// issue, asks which when several do, and says so when none does.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { parseCatalogue } from '../../src/config/catalogue.js';
import type { Catalogue } from '../../src/domain/project.js';
import { keys as keysFor } from '../../src/domain/keys.js';
import { ChannelLock } from '../../src/state/channel-lock.js';
import { JobStore } from '../../src/state/job-store.js';
import { JobRequests, type FixRequest } from '../../src/jobs/job-requests.js';
import type { QueuedJobData } from '../../src/jobs/job-queue.js';
import { SlackJobNotifier } from '../../src/slack/slack-job-notifier.js';
import { silentLogger } from '../../src/observability/logger.js';
import { findIssueInProjects } from '../../src/trackers/issue-lookup.js';
import { SlackEmulator } from '../support/slack-emulator/index.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { testDelivery } from '../support/slack-delivery.js';
import { startGitHubDouble, type GitHubDouble } from '../support/tracker-doubles/github-double.js';
import { startGitLabDouble, type GitLabDouble } from '../support/tracker-doubles/gitlab-double.js';
import type { SlackDelivery } from '../../src/slack/delivery/index.js';
import { replyMessage } from '../../src/chat/reply-messages.js';
import { plainText } from '../../src/domain/message.js';

const GH_TOKEN = `gh-${randomBytes(8).toString('hex')}`;
const GL_TOKEN = `gl-${randomBytes(8).toString('hex')}`;
const issue = { title: 'something is broken', body: 'details' };

let emu: SlackEmulator;
let github: GitHubDouble;
let gitlab: GitLabDouble;
let catalogue: Catalogue;
let redis: Redis;
let prefix: string;
let delivery: SlackDelivery;
let queued: QueuedJobData[];
let jobs: JobRequests;

beforeAll(async () => {
  emu = await SlackEmulator.start();
  github = await startGitHubDouble({
    issues: { 'acme/one': { 58: issue }, 'acme/three': {}, 'acme/limited': { 7: issue } },
    tokens: {
      [GH_TOKEN]: { repos: { 'acme/one': 'read', 'acme/three': 'read' } },
      limited: { repos: { 'acme/limited': 'read' }, remaining: 0 },
    },
  });
  gitlab = await startGitLabDouble({
    issues: { 'group/sub/two': { 58: issue, 7: issue } },
    tokens: { [GL_TOKEN]: { repos: { 'group/sub/two': 'read' } } },
  });
  catalogue = parseCatalogue(
    `
projects:
  one:
    repo: https://github.example/acme/one.git
    tracker: { type: github, repo: acme/one, url: "${github.url}", token: LOOKUP_GH_TOKEN }
    agent: { command: ["agent", "{prompt}"] }
  two:
    repo: https://gitlab.example/group/sub/two.git
    tracker: { type: gitlab, repo: group/sub/two, url: "${gitlab.url}", token: LOOKUP_GL_TOKEN }
    agent: { command: ["agent", "{prompt}"] }
  three:
    repo: https://github.example/acme/three.git
    tracker: { type: github, repo: acme/three, url: "${github.url}", token: LOOKUP_GH_TOKEN }
    agent: { command: ["agent", "{prompt}"] }
  hidden:
    repo: https://github.example/acme/hidden.git
    tracker: { type: github, repo: acme/one, url: "${github.url}", token: LOOKUP_GH_TOKEN }
    agent: { command: ["agent", "{prompt}"] }
    users: [U0SOMEONEELSE]
`,
    'lookup catalogue',
  );
});

afterAll(async () => {
  await Promise.all([emu.close(), github.close(), gitlab.close()]);
});

beforeEach(() => {
  redis = new Redis(redisUrl());
  prefix = uniquePrefix();
  const k = keysFor(prefix);
  delivery = testDelivery({ emu, redis, prefix });
  queued = [];
  jobs = new JobRequests({
    catalogue: () => catalogue,
    lock: new ChannelLock(redis, k),
    store: new JobStore(redis, k),
    notifier: new SlackJobNotifier(delivery),
    enqueue: async (data) => void queued.push(data),
    lockLeaseMs: 60_000,
    logger: silentLogger,
    servesInference: () => false,
    findIssue: (projects, n) => findIssueInProjects(projects, n, { secrets: { LOOKUP_GH_TOKEN: GH_TOKEN, LOOKUP_GL_TOKEN: GL_TOKEN } }),
  });
});

afterEach(async () => {
  await delivery.close();
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
});

const fix = (n: number, over: Partial<FixRequest> = {}): FixRequest => ({
  channel: 'C0GENERAL',
  user: 'U0ALICE',
  issue: n,
  text: `fix #${n}`,
  threadTs: '1700000000.000100',
  ...over,
});

test('one project has the issue: that project', async () => {
  const reply = await jobs.request(fix(7));
  expect(reply.kind === 'queued' && reply.job.project).toBe('two');
  expect(queued).toHaveLength(1);
  // Each tracker was asked with its own token, over its own API.
  expect(gitlab.state.tokensSeen.has(GL_TOKEN)).toBe(true);
  expect(github.state.requests).toContain('GET /api/v3/repos/acme/one/issues/7');
});

test('several have it: the reply asks which, naming only those, and nothing starts', async () => {
  const reply = await jobs.request(fix(58));
  expect(reply).toEqual({ kind: 'which-project', issue: 58, projects: ['one', 'two'] });
  expect(queued).toHaveLength(0);
  const message = replyMessage(reply);
  expect(message?.blocks.map((b) => (b.type === 'section' && b.text ? plainText(b.text) : '')).join('\n')).toBe(
    ':mag: More than one project you can use has an issue #58. Which one?\nfix #58 in one · fix #58 in two',
  );
});

test('none has it: the reply says so and how to pick one', async () => {
  const reply = await jobs.request(fix(99));
  expect(reply.kind).toBe('rejected');
  expect(reply.kind === 'rejected' && reply.message).toMatch(/^No project you can use here has an issue #99\. Say `fix #99 in <project>`/);
  // A project the person may not use is neither asked nor named.
  expect(reply.kind === 'rejected' && reply.message).not.toContain('hidden');
  expect(queued).toHaveLength(0);
});

test('a tracker that cannot answer (rate limit) is named as unknown, not as missing', async () => {
  const limited = parseCatalogue(
    `
projects:
  limited:
    repo: https://github.example/acme/limited.git
    tracker: { type: github, repo: acme/limited, url: "${github.url}", token: LIMITED_TOKEN }
    agent: { command: ["agent", "{prompt}"] }
  three:
    repo: https://github.example/acme/three.git
    tracker: { type: github, repo: acme/three, url: "${github.url}", token: LOOKUP_GH_TOKEN }
    agent: { command: ["agent", "{prompt}"] }
`,
    'limited catalogue',
  );
  const lookup = await findIssueInProjects([...limited.projects.values()], 7, {
    secrets: { LIMITED_TOKEN: 'limited', LOOKUP_GH_TOKEN: GH_TOKEN },
  });
  expect(lookup.found).toEqual([]);
  expect(lookup.unknown.map((p) => p.name)).toEqual(['limited']);
});
