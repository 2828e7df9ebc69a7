// Agents that misbehave (STYLE habit 8): a real dispatcher (Slack emulator,
// test Redis, real Docker) runs the named failure fixtures of
// tests/support/fixtures/agent-images.ts — an agent that crashes, one that
// hangs, one that spams, one that goes silent after a while — and the real
// agent running a command that never ends — and must fail or finish each job
// cleanly, tell the thread why, and free the channel. Also: a request for an
// unknown project starts nothing.
import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { AGENT_IMAGE } from '../support/dispatcher-harness.js';
import {
  buildAgentFixtures,
  SILENT_AFTER_MS,
  SPAM_LOG_EVENTS,
  SPAM_MALFORMED_EVENTS,
  SPAM_OVERSIZED_EVENTS,
  SPAM_SUMMARY,
  type FixtureImages,
} from '../support/fixtures/agent-images.js';
import type { RecordedMessage } from '../support/slack-emulator/index.js';
import type { JobRecord } from '../../src/domain/job.js';
import { isJobId } from '../../src/domain/job-id.js';

jest.setTimeout(120_000);

// The fixtures ignore the command; the catalogue needs one all the same.
const projects = (workspace: string) => `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'the fixture image decides what happens'"]
`;

/** Short enough that a silent agent is noticed in seconds, long enough for a container to start. */
const timings = { startupGraceMs: 3000, stopGraceSeconds: 1 };

/** The result posted into the thread after the status message (never updated, unlike the status). */
const resultOf = (h: Harness, channel: string, threadTs: string, pattern: RegExp) =>
  h.emu.waitFor(
    () => {
      const [status, ...rest] = botReplies(h, channel, threadTs);
      return status && rest.find((m) => m.updates === 0 && pattern.test(m.text ?? ''));
    },
    { what: `a result matching ${pattern} in the thread`, timeoutMs: 60_000 },
  );

const jobIdOf = (status: RecordedMessage): string => {
  const id = /job `([a-z0-9]+)`/.exec(JSON.stringify(status.blocks))?.[1];
  if (!id) throw new Error(`no job id in the status message: ${JSON.stringify(status.blocks)}`);
  return id;
};

let fixtures: FixtureImages;
let redis: Redis;

beforeAll(async () => {
  fixtures = await buildAgentFixtures(['crashing', 'hanging', 'spamming', 'going-silent']);
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
});
afterAll(async () => {
  await redis?.quit();
  await fixtures?.remove();
});

describe('an agent that crashes at once', () => {
  let h: Harness;
  const channel = 'C0FMCRASH';

  beforeAll(async () => {
    h = await startHarness({ mode: 'socket', projectsYaml: projects, agentImage: fixtures.tag('crashing'), timings });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('fails the job with its exit code, says so in the thread, and frees the channel', async () => {
    const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #1 in demo' });

    const failure = await resultOf(h, channel, request.ts, /failed/);
    expect(failure.text).toContain('the agent exited with code 3 without reporting a result');
    const status = botReplies(h, channel, request.ts)[0];
    expect(status?.text).toMatch(/failed/);

    const record = JSON.parse((await redis.get(`${h.prefix}job:${jobIdOf(status!)}`)) ?? 'null') as JobRecord | null;
    expect(record?.state).toBe('failed');
    expect(await redis.exists(`${h.prefix}lock:channel:${channel}`)).toBe(0);

    // The channel is free: the next request gets its own status message, not a busy reply.
    const next = await h.emu.userSays({ channel, user: 'U0BOB', text: 'fix #2 in demo' });
    const accepted = await h.emu.waitFor(() => botReplies(h, channel, next.ts)[0], { what: 'a reply to the next request' });
    expect(accepted.text).toContain('demo #2');
    expect(accepted.text).not.toMatch(/busy/);
    const second = await resultOf(h, channel, next.ts, /failed/);
    expect(second.text).toContain('exited with code 3');

    await eventually(async () => (await h.containers(channel)).length === 0, 'no agent containers left');
  });

  test('an unknown project gets a reply naming the available projects, and nothing starts', async () => {
    const other = 'C0FMNOPE';
    const request = await h.emu.userSays({ channel: other, user: 'U0ALICE', text: 'fix #1 in nope' });

    const reply = await h.emu.waitFor(() => botReplies(h, other, request.ts)[0], { what: 'a reply to the unknown project' });
    expect(reply.text).toContain("I don't know a project called `nope`");
    expect(reply.text).toContain('`demo`');

    // The refusal comes before the channel lock, the status message and the queue.
    expect(botReplies(h, other, request.ts)).toHaveLength(1);
    expect(await redis.exists(`${h.prefix}lock:channel:${other}`)).toBe(0);
    expect(await h.containers(other)).toHaveLength(0);
    const records = await redis.keys(`${h.prefix}job:*`);
    const mine = await Promise.all(
      records
        .filter((k) => isJobId(k.slice(`${h.prefix}job:`.length)))
        .map(async (k) => JSON.parse((await redis.get(k)) ?? '{}') as JobRecord),
    );
    expect(mine.filter((j) => j.channel === other)).toEqual([]);
  });
});

describe('an agent that hangs without a heartbeat', () => {
  let h: Harness;
  const channel = 'C0FMHANG';

  beforeAll(async () => {
    h = await startHarness({ mode: 'socket', projectsYaml: projects, agentImage: fixtures.tag('hanging'), timings });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('fails the job as "never reported in" and stops and removes its container', async () => {
    const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #3 in demo' });

    const running = await eventually(
      async () => (await h.containers(channel)).find((c) => c.State === 'running'),
      'the hanging agent container to run',
    );

    const failure = await resultOf(h, channel, request.ts, /failed/);
    expect(failure.text).toContain('the agent never reported in');

    // Stopped (SIGTERM is ignored by the sleeping PID 1, so this is the kill) and removed by AutoRemove.
    await eventually(async () => (await h.containers(channel)).length === 0, 'the hanging agent container to be removed');
    await expect(h.docker.getContainer(running.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await redis.exists(`${h.prefix}lock:channel:${channel}`)).toBe(0);
  });
});

describe('an agent that spams its event stream', () => {
  let h: Harness;
  const channel = 'C0FMSPAM';

  beforeAll(async () => {
    h = await startHarness({
      mode: 'socket',
      projectsYaml: projects,
      agentImage: fixtures.tag('spamming'),
      timings: { ...timings, statusIntervalMs: 1000 },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('malformed events are skipped, the job ends done, and the status message is updated far less often than events arrive', async () => {
    const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #4 in demo' });

    const result = await resultOf(h, channel, request.ts, /is done/);
    expect(JSON.stringify(result.blocks)).toContain(SPAM_SUMMARY);

    const status = botReplies(h, channel, request.ts)[0];
    expect(status?.text).toMatch(/done in/);
    const jobId = jobIdOf(status!);

    // Everything the fixture wrote is in the stream; the malformed entries were skipped, not fatal.
    const written = await redis.xlen(`${h.prefix}job:${jobId}:events`);
    expect(written).toBe(SPAM_MALFORMED_EVENTS + SPAM_OVERSIZED_EVENTS + 1 + SPAM_LOG_EVENTS + 1);
    const metrics = await (await fetch(`http://127.0.0.1:${h.config.port}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^switchboard_agent_events_skipped_total ${SPAM_MALFORMED_EVENTS + SPAM_OVERSIZED_EVENTS}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^switchboard_agent_events_oversized_total ${SPAM_OVERSIZED_EVENTS}$`, 'm'));
    const record = JSON.parse((await redis.get(`${h.prefix}job:${jobId}`)) ?? 'null') as JobRecord | null;
    expect(record).toMatchObject({ state: 'done', summary: SPAM_SUMMARY });
    expect(record?.recentLogs.at(-1)).toBe(`spam line ${SPAM_LOG_EVENTS - 1}`);

    // A count, not a timing: the throttle coalesced hundreds of events into a handful of chat.update calls.
    const updates = h.emu.calls.filter((c) => c.method === 'chat.update' && c.args.ts === status!.ts);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.length).toBeLessThan(written / 10);
    expect(updates.every((c) => c.ok)).toBe(true);

    await eventually(async () => (await h.containers(channel)).length === 0, 'the spamming agent container to be removed');
  });
});

describe('an agent that heartbeats for a while and then goes silent', () => {
  let h: Harness;
  const channel = 'C0FMSILENT';

  beforeAll(async () => {
    // A long start-up grace: the job must fail for the lost heartbeat, never for "never reported in".
    h = await startHarness({
      mode: 'socket',
      projectsYaml: projects,
      agentImage: fixtures.tag('going-silent'),
      timings: { ...timings, startupGraceMs: 60_000 },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('fails the job as "stopped sending heartbeats" and stops and removes its container', async () => {
    const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #5 in demo' });
    const running = await eventually(
      async () => (await h.containers(channel)).find((c) => c.State === 'running'),
      'the agent container to run',
    );
    await h.emu.waitFor(() => botReplies(h, channel, request.ts).find((m) => /running/.test(m.text ?? '')), {
      what: 'the status message saying running (the fixture reported in)',
      timeoutMs: SILENT_AFTER_MS + 15_000,
    });

    const failure = await resultOf(h, channel, request.ts, /failed/);
    expect(failure.text).toContain('the agent stopped sending heartbeats');
    await eventually(async () => (await h.containers(channel)).length === 0, 'the silent agent container to be removed');
    await expect(h.docker.getContainer(running.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await redis.exists(`${h.prefix}lock:channel:${channel}`)).toBe(0);
  });
});

describe('an agent that keeps heart-beating but never finishes', () => {
  let h: Harness;
  const channel = 'C0FMSLOW';
  /** Added to the supervisors' clock once the job runs: its 1-minute limit passes at once. */
  let clockSkewMs = 0;
  // The real agent image: its runner heartbeats while the command sleeps.
  const slowProject = (workspace: string) => `
projects:
  slow:
    workspace: ${workspace}
    timeoutMinutes: 1
    agent:
      command: ["sleep", "600"]
`;

  beforeAll(async () => {
    h = await startHarness({
      mode: 'socket',
      projectsYaml: slowProject,
      agentImage: AGENT_IMAGE,
      timings,
      now: () => Date.now() + clockSkewMs,
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('fails the job when it runs past its timeoutMinutes, naming the limit, and stops the agent', async () => {
    const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #6 in slow' });
    const running = await eventually(
      async () => (await h.containers(channel)).find((c) => c.State === 'running'),
      'the agent container to run',
    );
    await h.emu.waitFor(() => botReplies(h, channel, request.ts).find((m) => /running/.test(m.text ?? '')), {
      what: 'the status message saying running',
      timeoutMs: 30_000,
    });
    expect(await redis.exists(`${h.prefix}job:${running.Labels['switchboard.job-id']}:heartbeat`)).toBe(1);

    clockSkewMs = 2 * 60_000;
    const failure = await resultOf(h, channel, request.ts, /failed/);
    expect(failure.text).toContain('the job ran longer than its 1-minute limit');
    await eventually(async () => (await h.containers(channel)).length === 0, 'the agent container to be stopped and removed');
    await expect(h.docker.getContainer(running.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await redis.exists(`${h.prefix}lock:channel:${channel}`)).toBe(0);
  });
});
