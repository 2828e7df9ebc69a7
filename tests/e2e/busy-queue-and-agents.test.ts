// `busy: queue` and `with <agent>` end to end (DESIGN §2, §3): two requests
// in one channel of a queueing project run one after the other, the second
// showing its place while it waits; a named agent runs its own command, and
// an unknown name is refused with the choices. Socket mode only: what is
// tested here does not depend on how Slack delivers events.
import { jest } from '@jest/globals';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { watchChannelContainers } from '../support/job-watch.js';
import type { JobRecord } from '../../src/domain/job.js';
import { keys } from '../../src/domain/keys.js';

jest.setTimeout(150_000);

const FIXTURE = new URL('../support/fixtures/asking-agent.mjs', import.meta.url).pathname;

let workspaceDir = '';
const projects = (workspace: string) => {
  workspaceDir = workspace;
  copyFileSync(FIXTURE, join(workspace, 'asking-agent.mjs'));
  return `
projects:
  lined:
    workspace: ${workspace}
    busy: queue
    agent:
      command: ["node", "/workspace/asking-agent.mjs", "wait-go"]
  agents:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'the default agent must not run here'; exit 3"]
    agents:
      fixer: { command: ["node", "/workspace/asking-agent.mjs", "named", "fixer"] }
      reviewer: { command: ["node", "/workspace/asking-agent.mjs", "named", "reviewer"], stdin: closed }
`;
};

let h: Harness;
let redis: Redis;

beforeAll(async () => {
  h = await startHarness({ mode: 'socket', projectsYaml: projects });
  redis = new Redis(h.config.redis.url);
});
afterAll(async () => {
  await redis?.quit();
  await h?.stop();
});

const record = async (jobId: string): Promise<JobRecord> => JSON.parse((await redis.get(`${h.prefix}job:${jobId}`)) ?? 'null') as JobRecord;
const jobIdIn = (blocks: unknown) => /job `?([a-z0-9]{11})/.exec(JSON.stringify(blocks))?.[1];

test('busy: queue — the second request waits behind the first, shows its place, and runs when the first ends', async () => {
  const channel = 'C0LINED';
  const containers = watchChannelContainers(h.docker, channel);
  try {
    const first = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #1 in lined' });
    await eventually(async () => (await h.containers(channel)).find((c) => c.State === 'running'), 'the first agent running');
    const second = await h.emu.userSays({ channel, user: 'U0BOB', text: 'fix #2 in lined' });
    const waiting = await h.emu.waitFor(() => botReplies(h, channel, second.ts).find((m) => (m.text ?? '').includes('1st in line')), {
      what: 'the second status message showing its place',
      timeoutMs: 15_000,
    });
    expect(waiting.text).toContain("waiting for this channel's job to finish");
    expect(await h.containers(channel)).toHaveLength(1);

    // A third one waits behind it, and is cancelled while it waits: it leaves the line and never runs.
    const third = await h.emu.userSays({ channel, user: 'U0CAROL', text: 'fix #3 in lined' });
    await h.emu.waitFor(() => botReplies(h, channel, third.ts).find((m) => (m.text ?? '').includes('2nd in line')), {
      what: 'the third in line',
    });
    const jobsListed = await h.emu.userSays({ channel, user: 'U0CAROL', text: 'list' });
    const list = await h.emu.waitFor(() => botReplies(h, channel, jobsListed.ts)[0], { what: 'the job list' });
    expect(JSON.stringify(list.blocks)).toContain('2nd in line there');
    await h.emu.userSays({ channel, user: 'U0CAROL', text: 'cancel', thread_ts: third.ts });
    await h.emu.waitFor(() => botReplies(h, channel, third.ts).find((m) => /cancelled by/.test(m.text ?? '')), {
      what: 'the third job cancelled',
    });

    // The first one ends when told; then, and only then, the second starts.
    await h.emu.userSays({ channel, user: 'U0ALICE', text: 'go', thread_ts: first.ts });
    await h.emu.waitFor(() => botReplies(h, channel, first.ts).find((m) => /is done/.test(m.text ?? '')), {
      what: 'the first result',
      timeoutMs: 60_000,
    });
    await eventually(async () => (await h.containers(channel)).find((c) => c.State === 'running'), 'the second agent running', 60_000);
    await h.emu.userSays({ channel, user: 'U0BOB', text: 'go', thread_ts: second.ts });
    await h.emu.waitFor(() => botReplies(h, channel, second.ts).find((m) => /is done/.test(m.text ?? '')), {
      what: 'the second result',
      timeoutMs: 60_000,
    });

    const [a, b] = [jobIdIn(botReplies(h, channel, first.ts)[0]?.blocks), jobIdIn(botReplies(h, channel, second.ts)[0]?.blocks)];
    expect(a && b).toBeTruthy();
    const [ra, rb] = [await record(a as string), await record(b as string)];
    expect(ra.state).toBe('done');
    expect(rb.state).toBe('done');
    // Never two at once: the second started after the first had finished.
    expect(rb.startedAt as number).toBeGreaterThanOrEqual(ra.finishedAt as number);
  } finally {
    await containers.stop();
  }
  expect(containers.jobIds.size).toBe(2); // the cancelled one never had an agent
  await eventually(async () => (await h.containers(channel)).length === 0, 'no agent containers left');
  // The workspace (shared with the next test's project) is let go just after the agent is gone.
  await eventually(async () => (await redis.exists(keys(h.prefix).workspaceLock(workspaceDir))) === 0, 'the workspace free');
});

test('with <agent> runs the named command; an unknown name lists the choices and starts nothing', async () => {
  const channel = 'C0AGENTS';
  const unknown = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #5 in agents with gpt' });
  const refusal = await h.emu.waitFor(() => botReplies(h, channel, unknown.ts)[0], { what: 'the refusal' });
  expect(JSON.stringify(refusal.blocks)).toContain('agents has no agent called');
  expect(JSON.stringify(refusal.blocks)).toContain('fixer');
  expect(JSON.stringify(refusal.blocks)).toContain('reviewer');

  const named = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #5 in agents with Fixer' });
  const result = await h.emu.waitFor(() => botReplies(h, channel, named.ts).find((m) => /is done|failed/.test(m.text ?? '')), {
    what: 'the result',
    timeoutMs: 60_000,
  });
  expect(JSON.stringify(result.blocks)).toContain('the fixer agent ran');
  await eventually(async () => (await h.containers(channel)).length === 0, 'no agent containers left');
});
