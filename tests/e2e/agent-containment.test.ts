// Agents are contained (issue 5), tried with real parts: a hostile agent
// command, run by the real runner in a real container on the agents' own
// network, uses its job's Redis URL to reach past its job, and is refused
// every time, while a second job runs to its end next to it. Every way a job
// ends takes its Redis user with it, and a fork bomb ends as a failed job.
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { agentNetworkGateway } from '../support/agent-network.js';
import { HOSTILE_SCRIPT } from '../support/fixtures/hostile-agent.js';
import type { JobRecord } from '../../src/domain/job.js';
import { AGENT_COMMANDS } from '../../src/state/agent-credentials.js';

jest.setTimeout(180_000);

/** A directory under WORKSPACE_ROOT (the harness's workspace's parent) that the agent (uid 1000) may write. */
function sibling(workspace: string, name: string): string {
  const dir = join(dirname(workspace), name);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  return dir;
}

const projects = (workspace: string) => `
projects:
  victim:
    workspace: ${sibling(workspace, 'victim')}
    agent:
      command: ["sh", "-c", "echo 'victim working'; sleep 8; echo 'Opened https://github.com/acme/victim/pull/1'"]
  hostile:
    workspace: ${workspace}
    env: [HOSTILE_PLAN]
    agent:
      command: ${JSON.stringify(['node', '-e', HOSTILE_SCRIPT])}
  broken:
    workspace: ${sibling(workspace, 'broken')}
    agent:
      command: ["sh", "-c", "echo 'error: 3 tests failed' >&2; exit 1"]
  slow:
    workspace: ${sibling(workspace, 'slow')}
    agent:
      command: ["sh", "-c", "echo 'thinking'; sleep 60"]
  crashing:
    workspace: ${sibling(workspace, 'crashing')}
    agent:
      # Kills its own runner: the container ends without a result.
      command: ["sh", "-c", "echo 'about to crash'; kill -9 $PPID"]
  forkbomb:
    workspace: ${sibling(workspace, 'forkbomb')}
    resources: { cpus: 0.5, memory: 256m }
    agent:
      # The bomb's processes let go of stdout, so the runner sees the shell's own exit.
      command: ["sh", "-c", "bomb() { bomb | bomb & }; (bomb) >/dev/null 2>&1 </dev/null; sleep 3; echo 'still here'; exit 1"]
`;

let h: Harness;
let admin: Redis;

beforeAll(async () => {
  h = await startHarness({ mode: 'socket', projectsYaml: projects, maxConcurrentJobs: 3 });
  admin = new Redis(h.config.redis.url);
});
afterAll(async () => {
  await h?.stop();
  admin?.disconnect();
  delete process.env.HOSTILE_PLAN;
});

const aclUser = (jobId: string) => admin.call('ACL', 'GETUSER', `job-${jobId}`);
const record = async (jobId: string) => JSON.parse((await admin.get(`${h.prefix}job:${jobId}`)) ?? 'null') as JobRecord | null;

/** Starts a job by chat and returns its id (from its container's label) and the request's ts. */
async function startJob(channel: string, text: string): Promise<{ jobId: string; ts: string }> {
  const request = await h.emu.userSays({ channel, user: 'U0ALICE', text });
  const container = await eventually(async () => (await h.containers(channel))[0], `an agent container for ${text}`);
  return { jobId: container.Labels['switchboard.job-id'] ?? '', ts: request.ts };
}

const ended = (channel: string, ts: string, pattern: RegExp) =>
  h.emu.waitFor(() => botReplies(h, channel, ts).find((m, i) => i > 0 && pattern.test(m.text ?? '')), {
    what: `a final message matching ${pattern}`,
    timeoutMs: 90_000,
  });

test('a hostile agent is refused everything outside its own keys, while another job runs to its end', async () => {
  await admin.set(`${h.prefix}canary`, 'untouched');
  const victim = await startJob('C0VICTIM', 'fix #1 in victim');
  const lock = `${h.prefix}lock:channel:C0VICTIM`;
  expect(await admin.get(lock)).toBe(victim.jobId);

  process.env.HOSTILE_PLAN = JSON.stringify({
    other: victim.jobId,
    prefix: h.prefix,
    canary: `${h.prefix}canary`,
    lock,
    queue: `${h.prefix}bull`,
    host: agentNetworkGateway(),
    port: h.config.port,
  });
  const hostile = await startJob('C0HOSTILE', 'fix #2 in hostile');
  await ended('C0HOSTILE', hostile.ts, /is done/);

  const job = await record(hostile.jobId);
  expect(job?.state).toBe('done'); // its own events (started, progress, done) went through with its own user
  const line = job?.summary?.split('\n').find((l) => l.startsWith('HOSTILE '));
  expect(line).toBeDefined();
  const results = JSON.parse(line?.slice('HOSTILE '.length) ?? '{}') as Record<string, string>;
  const refused = [
    'otherRecord',
    'ownRecord',
    'otherStream',
    'otherXadd',
    'otherControl',
    'queueWrite',
    'lockDelete',
    'canaryWrite',
    'keys',
    'scan',
    'monitor',
    'config',
    'flushall',
    'aclList',
    'eval',
  ];
  expect(results).toEqual({ ...Object.fromEntries(refused.map((k) => [k, 'NOPERM'])), ownHeartbeat: 'ALLOWED', dispatcherPort: 'refused' });

  // Nothing was touched: the canary, the victim's lock and stream; the victim ends normally.
  expect(await admin.get(`${h.prefix}canary`)).toBe('untouched');
  expect(await admin.get(lock)).toBe(victim.jobId);
  const victimResult = await ended('C0VICTIM', victim.ts, /is done/);
  expect(victimResult.text).toContain('https://github.com/acme/victim/pull/1');
  const victimEvents = await admin.xrange(`${h.prefix}job:${victim.jobId}:events`, '-', '+');
  expect(JSON.stringify(victimEvents)).not.toContain('forged');
  // The dispatcher's PORT does answer on loopback: only agents are kept out.
  await expect(fetch(`http://127.0.0.1:${h.config.port}/healthz`).then((r) => r.status)).resolves.toBe(200);

  // Done: both users are gone with their jobs.
  await eventually(
    async () => (await aclUser(hostile.jobId)) === null && (await aclUser(victim.jobId)) === null,
    "the jobs' Redis users to be deleted",
  );
  expect(await admin.hlen(`${h.prefix}agent-users`)).toBe(0);
});

test("a running job's Redis user has exactly its three keys and the runner's commands; it is gone after a failure, a cancel and a crash", async () => {
  const slow = await startJob('C0SLOW', 'fix #3 in slow');
  const user = await eventually(async () => (await aclUser(slow.jobId)) as unknown[] | null, "the slow job's Redis user");
  const rules = Object.fromEntries(Array.from({ length: user.length / 2 }, (_, i) => [String(user[2 * i]), user[2 * i + 1]]));
  expect(rules.keys).toBe(['events', 'heartbeat', 'control'].map((k) => `~${h.prefix}job:${slow.jobId}:${k}`).join(' '));
  expect(String(rules.commands).split(' ').sort()).toEqual(['-@all', ...AGENT_COMMANDS.map((c) => `+${c}`)].sort());
  expect(rules.channels).toBe('');

  // Cancelled: a cancel control message, as the Cancel button sends it.
  await admin.xadd(
    `${h.prefix}job:${slow.jobId}:control`,
    '*',
    'm',
    JSON.stringify({ type: 'cancel', by: 'U0ALICE', reason: 'changed my mind' }),
  );
  await ended('C0SLOW', slow.ts, /cancelled|failed/);
  await eventually(async () => (await aclUser(slow.jobId)) === null, "the cancelled job's user to be deleted");

  const broken = await startJob('C0BROKEN', 'fix #4 in broken');
  await ended('C0BROKEN', broken.ts, /failed/);
  await eventually(async () => (await aclUser(broken.jobId)) === null, "the failed job's user to be deleted");

  const crashing = await startJob('C0CRASH', 'fix #5 in crashing');
  const crash = await ended('C0CRASH', crashing.ts, /failed/);
  expect(crash.text).toMatch(/without reporting a result|stopped sending heartbeats/);
  await eventually(async () => (await aclUser(crashing.jobId)) === null, "the crashed job's user to be deleted");
});

test('a fork bomb ends as a failed job inside its pids limit, and the host carries on', async () => {
  const bomb = await startJob('C0BOMB', 'fix #6 in forkbomb');
  await ended('C0BOMB', bomb.ts, /failed/);
  const job = await record(bomb.jobId);
  expect(job?.state).toBe('failed');
  expect(job?.reason).toMatch(/^sh exited with code 1/);
  await eventually(async () => (await h.containers('C0BOMB')).length === 0, "the fork bomb's container to be gone");
  // The host still forks, and the dispatcher still answers.
  await expect(promisify(execFile)('true')).resolves.toBeDefined();
  await expect(fetch(`http://127.0.0.1:${h.config.port}/healthz`).then((r) => r.status)).resolves.toBe(200);
  expect(await aclUser(bomb.jobId)).toBeNull();
});
