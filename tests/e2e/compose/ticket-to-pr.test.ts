// The Compose stack end to end, from ticket to pull request: the test-only
// docker-compose.test.yml runs Redis, the dispatcher image, the Slack emulator,
// the GitHub API double and a git server (smart HTTP) as services, with
// Debian's docker-compose. A Slack message → an agent container (the agent
// image with a fake coding agent) → progress in the thread → the branch
// pushed → a pull request on the double → the final message with its link →
// the container removed. The push token is nowhere the agent or its
// container's metadata could show it.
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { eventually } from '../../support/eventually.js';
import { AGENT_IMAGE } from '../../support/dispatcher-harness.js';

jest.setTimeout(10 * 60_000);

const run = promisify(execFile);
const here = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname);
const repo = resolve(here, '../../..');
const id = randomBytes(3).toString('hex');
const project = `sbe2eticket${id}`;
const TOKEN = `sbtok_e2e_${randomBytes(16).toString('hex')}`;
const CHANNEL = 'C0E2ECOMPOSE';
const IMAGES = {
  dispatcher: 'switchboard-dispatcher:e2e-compose',
  testbed: 'switchboard-testbed:e2e-compose',
  agent: 'switchboard-agent-fake:e2e-compose',
};
const dockerEnv = { ...process.env, DOCKER_API_VERSION: process.env.DOCKER_API_VERSION ?? '1.41' };
const composeEnv = {
  ...dockerEnv,
  TESTBED_IMAGE: IMAGES.testbed,
  DISPATCHER_IMAGE: IMAGES.dispatcher,
  AGENT_IMAGE: IMAGES.agent,
  E2E_GITHUB_TOKEN: TOKEN,
  REDIS_PASSWORD: randomBytes(12).toString('hex'),
  DOCKER_GID: String(statSync('/var/run/docker.sock').gid),
  COMPOSE_NETWORK: `${project}-default`,
  AGENTS_NETWORK: `${project}-agents`,
};
const compose = (...args: string[]) =>
  run('docker-compose', ['-p', project, '-f', join(here, 'docker-compose.test.yml'), ...args], {
    cwd: here,
    env: composeEnv,
    maxBuffer: 64 * 1024 * 1024,
  });
const docker = (...args: string[]) => run('docker', args, { env: dockerEnv, maxBuffer: 64 * 1024 * 1024 });
const tmp = mkdtempSync(join(tmpdir(), 'sb-e2e-ticket-'));

/** `http://127.0.0.1:<published port>` of a service's container port. */
async function published(service: string, port: number): Promise<string> {
  const { stdout } = await compose('port', service, String(port));
  return `http://${stdout.trim().replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

interface Msg {
  ts: string;
  thread_ts?: string;
  text?: string;
  bot_id?: string;
  updates: number;
  history: { text?: string }[];
}

async function buildImages(): Promise<void> {
  // The dispatcher from the main Dockerfile (its build stage is shared with the agent image's).
  await docker('build', '--target', 'dispatcher', '-t', IMAGES.dispatcher, repo);
  // The test servers, from a context with the tests (the main .dockerignore leaves them out).
  const ctx = join(tmp, 'testbed');
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json']) cpSync(join(repo, f), join(ctx, f));
  cpSync(join(repo, 'tests/support'), join(ctx, 'tests/support'), { recursive: true });
  cpSync(here, join(ctx, 'tests/e2e/compose'), { recursive: true });
  await docker('build', '-f', join(ctx, 'tests/e2e/compose/testbed.Dockerfile'), '-t', IMAGES.testbed, ctx);
  // The agent image with the fake coding agent, as agents/*.Dockerfile add a real one.
  const agentCtx = join(tmp, 'agent');
  cpSync(join(repo, 'tests/support/fixtures/fake-coding-agent.mjs'), join(agentCtx, 'fake-coding-agent.mjs'));
  cpSync(join(here, 'agent.Dockerfile'), join(agentCtx, 'Dockerfile'));
  await docker('build', '--build-arg', `AGENT_IMAGE=${AGENT_IMAGE}`, '-t', IMAGES.agent, agentCtx);
}

afterAll(async () => {
  await compose('down', '-v', '--remove-orphans', '-t', '2').catch(() => undefined);
  // Agent containers of this stack's channel, should a failure have left one.
  const { stdout } = await docker(
    'ps',
    '-aq',
    '--filter',
    `label=switchboard.channel=${CHANNEL}`,
    '--filter',
    `network=${composeEnv.AGENTS_NETWORK}`,
  ).catch(() => ({ stdout: '' }));
  for (const c of stdout.split('\n').filter(Boolean)) await docker('rm', '-f', c).catch(() => undefined);
  await docker('network', 'rm', composeEnv.AGENTS_NETWORK).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

test('a Slack message becomes a pushed branch and a pull request, reported in the thread', async () => {
  await buildImages();
  await compose('up', '-d');
  const logsOnFailure = async (err: Error) => {
    const { stdout } = await compose('logs', '--no-color', '--tail', '80').catch(() => ({ stdout: '' }));
    throw new Error(`${err.message}\n--- compose logs ---\n${stdout}`);
  };

  const dispatcher = await published('dispatcher', 3000);
  const slack = await published('slack', 8081);
  const github = await published('github', 8080);
  const git = await published('git', 8080);
  await eventually(
    async () => (await fetch(`${dispatcher}/readyz`, { signal: AbortSignal.timeout(3000) })).status === 200,
    'the dispatcher to be ready',
    90_000,
  ).catch(logsOnFailure);
  await eventually(
    async () => (await json<{ socket: number }>(`${slack}/connections`)).socket > 0,
    "the dispatcher's Socket Mode connection",
    30_000,
  ).catch(logsOnFailure);

  const request = await json<{ ts: string }>(`${slack}/say`, {
    method: 'POST',
    body: JSON.stringify({ channel: CHANNEL, user: 'U0ALICE', text: 'fix #58 in demo' }),
  });
  const thread = async () =>
    (await json<Msg[]>(`${slack}/messages?channel=${CHANNEL}`)).filter((m) => m.bot_id && m.thread_ts === request.ts);

  // An agent container for the channel, in `docker ps`, without the token anywhere in its metadata.
  const container = await eventually(
    async () => {
      const { stdout } = await docker('ps', '--filter', `label=switchboard.channel=${CHANNEL}`, '--format', '{{.ID}}');
      return stdout.trim().split('\n')[0] || undefined;
    },
    'an agent container in docker ps',
    60_000,
  ).catch(logsOnFailure);
  // The fake agent works for seconds: its container is still there to inspect (labels, env, arguments).
  const { stdout: inspected } = await docker('inspect', container);
  expect(inspected).toContain('"switchboard.project": "demo"');
  expect(inspected).toContain('SWITCHBOARD_TRACKER=');
  expect(inspected).not.toContain(TOKEN);

  // Progress in the thread: the status message is updated in place while the agent works.
  await eventually(async () => (await thread()).some((m) => m.updates > 0), 'the status message to show progress', 60_000).catch(
    logsOnFailure,
  );

  const result = await eventually(
    async () => (await thread()).find((m) => /is done|failed/.test(m.text ?? '')),
    'the final message',
    120_000,
  ).catch(logsOnFailure);
  const state = await json<{ opened: { url: string; head: string; body: string }[] }>(`${github}/_double/state`);
  expect(state.opened).toHaveLength(1);
  const pr = state.opened[0];
  expect(pr?.url).toBe('http://github:8080/acme/demo/pull/1');
  expect(result.text).toMatch(/is done/);
  expect(result.text).toContain(pr?.url);
  expect(pr?.head).toMatch(/^switchboard\/58-[0-9a-z]{8}$/);
  // The fake agent looked for the token in its env, every /proc/<pid>/environ and cmdline of the
  // container (the runner's included), the workspace and $HOME, and tried to push by itself.
  expect(pr?.body).toMatch(/Token search: nothing found; own push: refused/);
  expect(pr?.body).toMatch(/requested by `@emulated-u0alice` in `#emulated-c0e2ecompose`/i);
  expect(pr?.body).toContain(`/archives/${CHANNEL}/p${request.ts.replace('.', '')}`);
  const status = (await thread())[0];
  expect(status?.history.map((v) => v.text ?? '')).toEqual(expect.arrayContaining([expect.stringMatching(/running/)]));

  // The branch is on the git server.
  const refs = await json<Record<string, string>>(`${git}/_refs?repo=acme/demo`);
  expect(refs[`refs/heads/${pr?.head}`]).toMatch(/^[0-9a-f]{40}$/);

  // The container is removed after the job.
  await eventually(
    async () => {
      const { stdout } = await docker('ps', '-aq', '--filter', `label=switchboard.channel=${CHANNEL}`);
      return stdout.trim() === '';
    },
    'the agent container to be removed',
    60_000,
  );

  // No log line of the stack shows the token.
  const { stdout: logs } = await compose('logs', '--no-color');
  expect(logs).toContain('job');
  expect(logs).not.toContain(TOKEN);
});
