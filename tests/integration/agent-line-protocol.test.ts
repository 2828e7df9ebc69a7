// The line protocol (DESIGN §5) end to end inside the runner, against the real
// Redis: small fake agent CLIs (shell scripts) print `::switchboard::` lines,
// read answers and follow-ups from stdin, and start children of their own.
import { jest } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { AgentRunner } from '../../src/agent/runner.js';
import type { RunnerOptions } from '../../src/agent/runner-options.js';
import { parseAgentEvent, type AgentEvent, type ControlMessage } from '../../src/domain/events.js';
import { eventually } from '../support/eventually.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

jest.setTimeout(30_000);

const prefix = uniquePrefix();
let redis: Redis;
let tmp: string;
const connections: Redis[] = [];

function start(command: string, over: Partial<RunnerOptions> = {}, grace?: number) {
  const jobId = randomBytes(6).toString('hex');
  const workspaceDir = mkdtempSync(join(tmp, 'ws-'));
  const options: RunnerOptions = {
    jobId,
    redisUrl: redisUrl(),
    platform: 'slack',
    channelId: 'C0PROTO',
    request: 'fix #7 in demo',
    project: 'demo',
    userId: 'U0ALICE',
    redisPrefix: prefix,
    issue: 7,
    prompt: 'Fix issue #7 of demo',
    image: 'switchboard-agent:test',
    branch: 'main',
    workspaceMounted: true,
    workspaceDir,
    secretNames: [],
    command: ['sh', '-c', command],
    ...over,
  };
  const conn = new Redis(redisUrl());
  const control = new Redis(redisUrl());
  connections.push(conn, control);
  const logs: string[] = [];
  const runner = new AgentRunner(options, {
    redis: conn,
    controlRedis: control,
    env: process.env,
    log: (m) => logs.push(m),
    cancelGraceMs: grace,
  });
  return { jobId, workspaceDir, runner, logs };
}

async function eventsOf(jobId: string): Promise<AgentEvent[]> {
  const entries = await redis.xrange(`${prefix}job:${jobId}:events`, '-', '+');
  return entries.map(([id, fields]) => {
    const parsed = parseAgentEvent(fields[fields.indexOf('e') + 1]);
    if (!parsed.ok) throw new Error(`stream entry ${id} is not a valid event: ${parsed.error}`);
    return parsed.event;
  });
}

const send = (jobId: string, msg: ControlMessage) => redis.xadd(`${prefix}job:${jobId}:control`, '*', 'm', JSON.stringify(msg));
const logText = (events: AgentEvent[]) => events.flatMap((e) => (e.type === 'log' ? [e.text] : [])).join('\n');
const summary = (e: AgentEvent) => (e.type === 'progress' ? `progress ${e.step}/${e.total}` : e.type);

/** Alive means it exists and is not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

beforeAll(() => {
  redis = new Redis(redisUrl());
  tmp = mkdtempSync(join(tmpdir(), 'sb-protocol-'));
});

afterAll(async () => {
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
  await Promise.all(connections.map((c) => (c.status === 'end' ? undefined : c.quit().catch(() => undefined))));
  rmSync(tmp, { recursive: true, force: true });
});

test("protocol lines become events in the order printed, an invalid one is logged as text, and the command's done is the job's", async () => {
  const { jobId, runner, logs } = start(
    [
      'echo "reading the issue"',
      `echo '::switchboard:: {"type":"progress","step":1,"total":2,"name":"plan","text":"thinking"}'`,
      `echo '::switchboard:: {"type":"usage","model":"m1","promptTokens":5,"completionTokens":7,"gpuSeconds":1.5}'`,
      `echo '::switchboard:: {"type":"started","project":"x","ref":"x","image":"x","host":"x"}'`,
      `echo '::switchboard:: not json'`,
      `echo '::switchboard:: {"type":"done","summary":"Fixed the rounding bug","prUrl":"https://github.com/acme/demo/pull/3","commit":"abc123"}'`,
      // Only stdout speaks the protocol.
      `echo '::switchboard:: {"type":"failed","reason":"from stderr","retryable":false}' >&2`,
      'echo "bye"',
    ].join('\n'),
  );

  expect(await runner.run()).toBe('done');

  const events = await eventsOf(jobId);
  expect(events.map(summary)).toEqual([
    'started',
    'progress 1/3',
    'progress 2/3',
    'log',
    'progress 1/2',
    'usage',
    'log',
    'progress 3/3',
    'done',
  ]);
  expect(events[3]).toMatchObject({ type: 'log', text: 'reading the issue' });
  expect(events[4]).toMatchObject({ type: 'progress', name: 'plan', text: 'thinking' });
  expect(events[5]).toMatchObject({ type: 'usage', model: 'm1', promptTokens: 5, completionTokens: 7, gpuSeconds: 1.5 });
  const after = logText(events.slice(6));
  expect(after).toContain(`::switchboard:: {"type":"started"`);
  expect(after).toContain(
    '::switchboard:: not json\n(switchboard: the line above is not a valid event and was skipped: the text after ::switchboard:: is not JSON)',
  );
  expect(after).toContain(
    '(switchboard: the line above is not a valid event and was skipped: type must be one of progress, question, usage, done, failed (got "started"))',
  );
  expect(after).toContain('"reason":"from stderr"');
  expect(after).toContain('bye');
  expect(events.at(-1)).toMatchObject({
    type: 'done',
    summary: 'Fixed the rounding bug',
    prUrl: 'https://github.com/acme/demo/pull/3',
    commit: 'abc123',
    branch: 'main',
  });
  expect(logs.filter((l) => l.startsWith('warning: an invalid ::switchboard:: line'))).toHaveLength(2);
});

test("a failed verdict is the job's final event, even when the command exits 0", async () => {
  const { jobId, runner } = start(`echo '::switchboard:: {"type":"failed","reason":"the tests still fail","retryable":false}'; exit 0`);

  expect(await runner.run()).toBe('failed');

  const events = await eventsOf(jobId);
  expect(events.map(summary)).toEqual(['started', 'progress 1/3', 'progress 2/3', 'failed']);
  expect(events.at(-1)).toMatchObject({ type: 'failed', reason: 'the tests still fail', retryable: false, step: 2, name: 'run agent' });
});

test('a done verdict followed by a non-zero exit fails the job, saying both', async () => {
  const { jobId, runner } = start(`echo '::switchboard:: {"type":"done","summary":"ok"}'; echo oops; exit 3`);

  expect(await runner.run()).toBe('failed');

  const last = (await eventsOf(jobId)).at(-1);
  expect(last).toMatchObject({ type: 'failed', step: 2, retryable: true });
  expect(last?.type === 'failed' && last.reason).toBe('sh exited with code 3 after reporting done: oops');
});

test('answers and thread follow-ups reach the command on stdin as JSON lines, also one sent before it started', async () => {
  const { jobId, runner } = start(
    [
      'read -r early; echo "early: $early"',
      `echo '::switchboard:: {"type":"question","questionId":"q1","text":"Open a PR?","kind":"confirm","default":"no","timeoutSeconds":60}'`,
      'read -r answer; echo "answer: $answer"',
      'read -r follow; printf "%s\\n" "follow: $follow"',
      `echo '::switchboard:: {"type":"done","summary":"answered"}'`,
    ].join('\n'),
  );
  await send(jobId, { type: 'message', text: 'use the v2 API', by: 'U0ALICE' });

  const outcome = runner.run();
  const question = await eventually(async () => (await eventsOf(jobId)).find((e) => e.type === 'question'), 'the question');
  expect(question).toMatchObject({ type: 'question', questionId: 'q1', kind: 'confirm', default: 'no', timeoutSeconds: 60 });
  await send(jobId, { type: 'answer', questionId: 'q1', answer: 'yes', by: 'U0ALICE' });
  await eventually(async () => logText(await eventsOf(jobId)).includes('answer: '), 'the answer echoed');
  await send(jobId, { type: 'message', text: 'and "quote" it\nplease', by: 'U0BOB' });

  expect(await outcome).toBe('done');
  const text = logText(await eventsOf(jobId));
  expect(text).toContain('early: {"type":"message","text":"use the v2 API"}');
  expect(text).toContain('answer: {"type":"answer","questionId":"q1","answer":"yes"}');
  // One JSON line each: a newline inside the text stays escaped.
  expect(text).toContain('follow: {"type":"message","text":"and \\"quote\\" it\\nplease"}');
});

test("cancel stops the command's whole process group: a child it started, and TERM ignored, end with SIGKILL after the grace", async () => {
  // `trap '' TERM` is inherited by the child, so only SIGKILL to the group ends both.
  const { jobId, workspaceDir, runner } = start(`trap '' TERM; sleep 300 & echo $! > child.pid; echo started; wait`, {}, 300);
  const outcome = runner.run();
  const pidFile = join(workspaceDir, 'child.pid');
  const child = await eventually(async () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8').trim()), 'the child to start');
  expect(isAlive(child)).toBe(true);

  await send(jobId, { type: 'cancel', by: 'U0ALICE', reason: 'wrong issue' });

  expect(await outcome).toBe('failed');
  expect((await eventsOf(jobId)).at(-1)).toMatchObject({ type: 'failed', step: 2, retryable: true });
  await eventually(async () => !isAlive(child), 'the child to be gone', 5_000);
});

test('with SWITCHBOARD_AGENT_STDIN=closed the command reads end-of-file and follow-ups are dropped with a log line', async () => {
  // It waits for the test's go-ahead, so the follow-up arrives while it runs.
  const { jobId, workspaceDir, runner, logs } = start(
    `if read -r line; then echo "read: $line"; else echo "stdin closed"; fi; while [ ! -f go ]; do sleep 0.05; done`,
    { agentStdin: 'closed' },
  );
  const outcome = runner.run();
  await send(jobId, { type: 'message', text: 'hello', by: 'U0ALICE' });
  await eventually(async () => logs.some((l) => l.includes('message from U0ALICE dropped')), 'the dropped follow-up logged', 10_000);
  writeFileSync(join(workspaceDir, 'go'), '');

  expect(await outcome).toBe('done');
  expect(logText(await eventsOf(jobId))).toContain('stdin closed');
});
