// The agent runner in-process against the real Redis: it clones with the real
// git, runs real commands, and its events are read back from the stream with
// the shared schema (DESIGN §5).
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { AgentRunner, CUT_MARKER, type RunnerDeps } from '../../src/agent/runner.js';
import { STREAM_MAXLEN } from '../../src/domain/agent-contract.js';
import type { RunnerOptions } from '../../src/agent/runner-options.js';
import { MAX_EVENT_TEXT, parseAgentEvent, type AgentEvent } from '../../src/domain/events.js';
import { eventually } from '../support/eventually.js';

jest.setTimeout(60_000);

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `sbtest:runner:${randomBytes(4).toString('hex')}:`;
const FILE_NAME = 'hello-switchboard.txt';

let redis: Redis;
let tmp: string;
let repoUrl: string;
const connections: Redis[] = [];

const newJobId = () => randomBytes(6).toString('hex');

function options(overrides: Partial<RunnerOptions> & Pick<RunnerOptions, 'jobId' | 'command' | 'workspaceDir'>): RunnerOptions {
  return {
    redisUrl: REDIS_URL,
    platform: 'slack',
    channelId: 'C0RUNNER',
    request: 'fix #12 in demo',
    project: 'demo',
    userId: 'U0ALICE',
    redisPrefix: prefix,
    issue: 12,
    prompt: 'Fix issue #12 of demo',
    image: 'switchboard-agent:test',
    branch: 'main',
    workspaceMounted: false,
    secretNames: [],
    ...overrides,
  };
}

/** A runner with its own two connections, as main.ts builds it; `logs` keeps what it says on stderr. */
function runnerFor(
  opts: RunnerOptions,
  env: NodeJS.ProcessEnv = process.env,
  more: Partial<RunnerDeps> = {},
): { runner: AgentRunner; logs: string[] } {
  const conn = new Redis(REDIS_URL);
  const control = new Redis(REDIS_URL);
  connections.push(conn, control);
  const logs: string[] = [];
  return { runner: new AgentRunner(opts, { redis: conn, controlRedis: control, env, log: (m) => logs.push(m), ...more }), logs };
}

async function eventsOf(jobId: string): Promise<AgentEvent[]> {
  const entries = await redis.xrange(`${prefix}job:${jobId}:events`, '-', '+');
  return entries.map(([id, fields]) => {
    const at = fields.indexOf('e');
    const parsed = parseAgentEvent(at >= 0 ? fields[at + 1] : undefined);
    if (!parsed.ok) throw new Error(`stream entry ${id} is not a valid event: ${parsed.error}`);
    return parsed.event;
  });
}

const summary = (e: AgentEvent) => (e.type === 'progress' ? `progress ${e.step}/${e.total}` : e.type);

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  tmp = mkdtempSync(join(tmpdir(), 'sb-runner-'));
  // A real repository to clone: one commit on main.
  const repo = join(tmp, 'origin');
  mkdirSync(repo);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(repo, FILE_NAME), 'hello\n');
  git('add', FILE_NAME);
  git('-c', 'user.name=Switchboard Test', '-c', 'user.email=test@example.invalid', 'commit', '-q', '-m', 'first');
  repoUrl = `file://${repo}`;
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  // The runner closes its control connection itself; the others are ours to close.
  await Promise.all(connections.map((c) => (c.status === 'end' ? undefined : c.quit().catch(() => undefined))));
  rmSync(tmp, { recursive: true, force: true });
});

test('clones the repository, runs the command, and reports started, three steps, its output and the PR', async () => {
  const jobId = newJobId();
  const workspaceDir = join(tmp, `ws-${jobId}`);
  const { runner } = runnerFor(
    options({
      jobId,
      repo: repoUrl,
      workspaceDir,
      command: ['sh', '-c', "ls; echo done > /dev/null; echo 'PR: https://github.com/acme/x/pull/9'"],
    }),
  );

  expect(await runner.run()).toBe('done');

  const events = await eventsOf(jobId);
  expect(events.map(summary)).toEqual(['started', 'progress 1/3', 'progress 2/3', 'log', 'progress 3/3', 'done']);
  expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]);
  expect(events.every((e) => e.jobId === jobId)).toBe(true);
  expect(events[0]).toMatchObject({ type: 'started', project: 'demo', ref: '#12', image: 'switchboard-agent:test' });
  expect(events[1]).toMatchObject({ type: 'progress', step: 1, name: 'prepare workspace' });
  expect(events[2]).toMatchObject({ type: 'progress', step: 2, name: 'run agent', text: 'sh' });
  expect(events[3]).toMatchObject({ type: 'log', level: 'info' });
  expect(events[3]?.type === 'log' && events[3].text).toContain(FILE_NAME);
  expect(events[5]).toMatchObject({ type: 'done', prUrl: 'https://github.com/acme/x/pull/9', branch: 'main' });
  expect(events[5]?.type === 'done' && events[5].summary).toContain('PR: https://github.com/acme/x/pull/9');

  // The heartbeat goes with the runner.
  expect(await redis.exists(`${prefix}job:${jobId}:heartbeat`)).toBe(0);
});

test("a clone of a missing repository fails at step 1 with git's reason", async () => {
  const jobId = newJobId();
  const missing = `file://${join(tmp, 'no-such-repo')}`;
  const { runner } = runnerFor(options({ jobId, repo: missing, workspaceDir: join(tmp, `ws-${jobId}`), command: ['true'] }));

  expect(await runner.run()).toBe('failed');

  const events = await eventsOf(jobId);
  expect(events.map(summary)).toEqual(['started', 'progress 1/3', 'failed']);
  const failed = events[2];
  expect(failed).toMatchObject({ type: 'failed', step: 1, name: 'prepare workspace' });
  const reason = failed?.type === 'failed' ? failed.reason : '';
  expect(reason).toContain(`git clone of ${missing} (main) failed`);
  // What git actually said was wrong, not only its generic last words ("Could not read from remote repository").
  expect(reason).toContain('does not appear to be a git repository');
});

test('a command that does not exist fails at step 2 with a clear, non-retryable reason', async () => {
  const jobId = newJobId();
  const workspaceDir = mkdtempSync(join(tmp, 'mounted-'));
  const { runner } = runnerFor(
    options({ jobId, workspaceMounted: true, workspaceDir, command: ['switchboard-no-such-agent-cli', '{prompt}'] }),
  );

  expect(await runner.run()).toBe('failed');

  const events = await eventsOf(jobId);
  expect(events.map(summary)).toEqual(['started', 'progress 1/3', 'progress 2/3', 'failed']);
  expect(events[3]).toMatchObject({
    type: 'failed',
    step: 2,
    name: 'run agent',
    retryable: false,
    reason: 'the agent command could not start: command not found: switchboard-no-such-agent-cli',
  });
});

test('a cancel message stops a long command: failed with the reason it gives (who cancelled is for the dispatcher to show), and run() resolves', async () => {
  const jobId = newJobId();
  const workspaceDir = mkdtempSync(join(tmp, 'mounted-'));
  const { runner } = runnerFor(options({ jobId, workspaceMounted: true, workspaceDir, command: ['sleep', '30'] }));
  const heartbeat = `${prefix}job:${jobId}:heartbeat`;

  const outcome = runner.run();
  await eventually(async () => (await eventsOf(jobId)).some((e) => e.type === 'progress' && e.step === 2), 'the command to be started');
  expect(await redis.exists(heartbeat)).toBe(1);
  expect(Number(await redis.get(heartbeat))).toBeGreaterThan(0);

  await redis.xadd(`${prefix}job:${jobId}:control`, '*', 'm', JSON.stringify({ type: 'cancel', by: 'U1', reason: 'wrong issue' }));

  expect(await outcome).toBe('failed');
  const events = await eventsOf(jobId);
  expect(events.map(summary)).toEqual(['started', 'progress 1/3', 'progress 2/3', 'failed']);
  const failed = events[3];
  expect(failed).toMatchObject({ type: 'failed', step: 2, retryable: true });
  expect(failed?.type === 'failed' && failed.reason).toBe('wrong issue');
  expect(await redis.exists(heartbeat)).toBe(0);
});

test("the project's secret values never leave the container: blanked out of log lines, summary and reasons", async () => {
  const jobId = newJobId();
  const workspaceDir = mkdtempSync(join(tmp, 'mounted-'));
  const token = 'ghp_S3cretTokenValue1234567890';
  const { runner } = runnerFor(
    options({
      jobId,
      workspaceMounted: true,
      workspaceDir,
      secretNames: ['GITHUB_TOKEN'],
      command: ['sh', '-c', 'echo "using token $GITHUB_TOKEN"; echo "auth failed for $GITHUB_TOKEN" >&2; exit 4'],
    }),
    { ...process.env, GITHUB_TOKEN: token },
  );

  expect(await runner.run()).toBe('failed');

  const raw = JSON.stringify(await redis.xrange(`${prefix}job:${jobId}:events`, '-', '+'));
  expect(raw).not.toContain(token);
  const events = await eventsOf(jobId);
  const log = events.find((e) => e.type === 'log');
  expect(log?.type === 'log' && log.text).toContain('using token [redacted]');
  const failed = events.at(-1);
  expect(failed?.type === 'failed' && failed.reason).toContain('auth failed for [redacted]');
});

test('a repo URL with credentials (https://oauth2:TOKEN@…) never reaches an event: progress text and failure reason show it without them', async () => {
  const jobId = newJobId();
  // Port 1 refuses at once: the clone fails quickly, with the URL in git's words and ours.
  const withToken = 'https://oauth2:glpat-TOKENvalue123456@127.0.0.1:1/acme/demo.git';
  const { runner } = runnerFor(options({ jobId, repo: withToken, workspaceDir: join(tmp, `ws-${jobId}`), command: ['true'] }));

  expect(await runner.run()).toBe('failed');

  const raw = JSON.stringify(await redis.xrange(`${prefix}job:${jobId}:events`, '-', '+'));
  expect(raw).not.toContain('TOKENvalue');
  expect(raw).not.toContain('oauth2');
  const events = await eventsOf(jobId);
  expect(events[1]).toMatchObject({ type: 'progress', text: 'cloning https://127.0.0.1:1/acme/demo.git (main)' });
  expect(events.at(-1)?.type === 'failed' && events.at(-1)).toMatchObject({
    reason: expect.stringContaining('git clone of https://127.0.0.1:1/acme/demo.git (main) failed'),
  });
});

test('one 200 KB output line becomes a log event cut to 64 KB, with a marker', async () => {
  const jobId = newJobId();
  const workspaceDir = mkdtempSync(join(tmp, 'mounted-'));
  const { runner } = runnerFor(
    options({
      jobId,
      workspaceMounted: true,
      workspaceDir,
      command: ['sh', '-c', "head -c 200000 /dev/zero | tr '\\000' x; echo; echo after"],
    }),
  );

  expect(await runner.run()).toBe('done');

  const logs = (await eventsOf(jobId)).flatMap((e) => (e.type === 'log' ? [e.text] : []));
  const text = logs.join('\n');
  expect(text).toContain(`${'x'.repeat(1000)}${CUT_MARKER}`);
  expect(text).toContain('after');
  for (const t of logs) expect(t.length).toBeLessThanOrEqual(MAX_EVENT_TEXT);
});

test('an agent flooding its output: the log events are capped, every dropped line is counted and said, and the result and the latest progress come through', async () => {
  const jobId = newJobId();
  const workspaceDir = join(tmp, `ws-${jobId}`);
  const progress = '::switchboard:: {"type":"progress","step":2,"total":3,"name":"run agent","text":"half way"}';
  const { runner } = runnerFor(
    options({ jobId, repo: repoUrl, workspaceDir, command: ['sh', '-c', `seq 1 20000; echo '${progress}'; seq 20001 40000`] }),
  );

  expect(await runner.run()).toBe('done');

  const events = await eventsOf(jobId);
  const logs = events.filter((e): e is Extract<AgentEvent, { type: 'log' }> => e.type === 'log');
  const kept = logs.flatMap((e) => e.text.split('\n')).filter((l) => /^\d+$/.test(l)).length;
  const dropped = logs.reduce((n, e) => n + (e.dropped ?? 0), 0);
  expect(kept + dropped).toBe(40_000);
  expect(dropped).toBeGreaterThan(30_000);
  // A few dozen events, not thousands: far below the stream's cap.
  expect(events.length).toBeLessThan(100);
  expect(logs.some((e) => /\(switchboard: [\d,]+ log lines dropped/.test(e.text))).toBe(true);
  expect(events.find((e) => e.type === 'progress' && e.text === 'half way')).toBeDefined();
  expect(events.at(-1)).toMatchObject({ type: 'done' });
});

test('the latest progress is published again while an agent floods, so it stays among the newest entries of the capped stream', async () => {
  const jobId = newJobId();
  const workspaceDir = join(tmp, `ws-${jobId}`);
  const progress = '::switchboard:: {"type":"progress","step":2,"total":3,"name":"run agent","text":"the only progress"}';
  // A loose cap (many small batches a second) so the flood makes more log events than the stream keeps.
  const logCap = { rate: { batchesPerSecond: 100_000, burst: 100_000 }, batchLines: 5, repeatProgressEvery: 100 };
  const { runner } = runnerFor(
    options({ jobId, repo: repoUrl, workspaceDir, command: ['sh', '-c', `echo '${progress}'; seq 1 10000`] }),
    process.env,
    { logCap },
  );

  expect(await runner.run()).toBe('done');

  const events = await eventsOf(jobId);
  // Trimmed to about STREAM_MAXLEN: the progress line's own event is long gone, its repeats are not.
  expect(events.length).toBeLessThan(STREAM_MAXLEN * 1.2);
  expect(events[0]?.type).not.toBe('started');
  const lastFlood = events.filter((e) => e.type === 'progress' && e.text === 'the only progress');
  expect(lastFlood.length).toBeGreaterThan(0);
  const lastLog = events.map((e) => e.type).lastIndexOf('log');
  const lastRepeat = events.lastIndexOf(lastFlood.at(-1) as AgentEvent);
  expect(lastLog - lastRepeat).toBeLessThanOrEqual(100);
  expect(events.at(-1)).toMatchObject({ type: 'done' });
});
