// The reconciler (src/jobs/run/reconciler.ts) in a real dispatcher (Slack
// emulator, test Redis, real Docker): what a crash or a lost write leaves
// behind is put right within a few passes. Each case plants the debris by
// hand — a job record no replica supervises and the queue does not have, an
// agent container with Switchboard's labels, a per-job Redis user — exactly as
// a replica that died at the wrong moment would leave it.
// Timings: a pass every 300 ms; a heartbeat absent 1.5 s (Redis reachable) has lapsed.
import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { keys as keysFor, type Keys } from '../../src/domain/keys.js';
import { newJobId } from '../../src/domain/job-id.js';
import { agentLabels } from '../../src/domain/agent-contract.js';
import { EVENT_SCHEMA_VERSION } from '../../src/domain/events.js';
import type { JobRecord } from '../../src/domain/job.js';
import { JobStore } from '../../src/state/job-store.js';
import { AgentCredentials, agentUsername } from '../../src/state/agent-credentials.js';
import { silentLogger } from '../../src/observability/logger.js';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { aJob } from '../support/jobs.js';

jest.setTimeout(90_000);

const projects = (workspace: string) => `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'Opened https://github.com/acme/demo/pull/1'"]
`;

let h: Harness;
let redis: Redis;
let k: Keys;
let store: JobStore;
const planted: string[] = [];

beforeAll(async () => {
  h = await startHarness({
    mode: 'socket',
    projectsYaml: projects,
    timings: { reconcileEveryMs: 300, lapseAfterMs: 1500, startupGraceMs: 1500, stopGraceSeconds: 1, exitWaitMs: 2000 },
  });
  redis = new Redis(h.config.redis.url);
  k = keysFor(h.prefix);
  store = new JobStore(redis, k);
});
afterAll(async () => {
  for (const id of planted)
    await h.docker
      .getContainer(`switchboard-job-${id}`)
      .remove({ force: true })
      .catch(() => undefined);
  await redis?.quit();
  await h?.stop();
});

/** A container that looks like a job's agent to the spawner (its name and labels), but only sleeps. */
async function plantAgent(jobId: string, channel: string): Promise<string> {
  planted.push(jobId);
  const container = await h.docker.createContainer({
    name: `switchboard-job-${jobId}`,
    Image: 'debian:bookworm-slim',
    Cmd: ['sleep', '600'],
    Labels: agentLabels({ jobId, project: 'demo', channel }),
    HostConfig: { AutoRemove: true },
  });
  await container.start();
  return container.id;
}

/** A running job as a replica that died would leave it: recorded, its channel locked, its thread in Slack, no supervisor, no queue entry. */
async function plantRunningJob(channel: string, id = newJobId()): Promise<JobRecord> {
  const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'a thread for the planted job' });
  const job = aJob({
    id,
    project: 'demo',
    channel,
    user: 'U0ALICE',
    threadTs: request.ts,
    state: 'running',
    startedAt: Date.now(),
    createdAt: Date.now(),
  });
  await store.save(job);
  await redis.set(k.channelLock(channel), job.id, 'PX', 600_000);
  return job;
}

const gone = async (containerId: string) =>
  h.docker
    .getContainer(containerId)
    .inspect()
    .then(
      () => false,
      (err: { statusCode?: number }) => err.statusCode === 404,
    );

const metric = async (action: string): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${h.config.port}/metrics`)).text();
  return Number(new RegExp(`^switchboard_reconciler_actions_total\\{action="${action}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
};

const resultIn = (job: JobRecord, pattern: RegExp) =>
  h.emu.waitFor(() => botReplies(h, job.channel, job.threadTs as string).find((m) => pattern.test(m.text ?? '')), {
    what: `a message matching ${pattern} in the job's thread`,
    timeoutMs: 20_000,
  });

test('an orphan agent (made here, no record) is removed with its per-job Redis user; another Switchboard’s agent is left alone', async () => {
  const orphan = newJobId();
  const stranger = newJobId();
  const [orphanId, strangerId] = [await plantAgent(orphan, 'C0ORPHAN'), await plantAgent(stranger, 'C0STRANGER')];
  // Its user once it runs (as the spawner does it the other way round for a job with a record, which this one lacks).
  await new AgentCredentials(redis, k, silentLogger).issue(orphan);

  await eventually(() => gone(orphanId), 'the orphan agent container to be removed', 20_000);
  expect(await redis.hexists(k.agentUsers, orphan)).toBe(0);
  expect(((await redis.call('ACL', 'USERS')) as string[]).includes(agentUsername(orphan))).toBe(false);
  expect(await metric('remove-orphan')).toBeGreaterThanOrEqual(1);
  // No trace of the stranger in this Switchboard's Redis: not its business.
  expect(await gone(strangerId)).toBe(false);
});

test('a job whose agent is gone is failed, its user told in the thread, its channel freed', async () => {
  const job = await plantRunningJob('C0GONE');
  const told = await resultIn(job, /failed/);
  expect(told.text).toMatch(/agent was gone/);
  expect(await store.get(job.id)).toMatchObject({ state: 'failed' });
  await eventually(async () => (await redis.exists(k.channelLock(job.channel))) === 0, 'the channel to be free');
  await eventually(async () => (await metric('fail-gone')) >= 1, 'the action counted');
});

test('a job whose agent wrote its result but had no supervisor to see it is finished from its stream, once', async () => {
  const job = await plantRunningJob('C0STREAM');
  await redis.xadd(
    k.jobEvents(job.id),
    '*',
    'e',
    JSON.stringify({ v: EVENT_SCHEMA_VERSION, jobId: job.id, seq: 1, ts: Date.now(), type: 'done', summary: 'fixed while nobody watched' }),
  );
  const told = await resultIn(job, /is done/);
  expect(JSON.stringify(told.blocks)).toContain('fixed while nobody watched');
  expect(await store.get(job.id)).toMatchObject({ state: 'done' });
  await eventually(async () => (await redis.exists(k.channelLock(job.channel))) === 0, 'the channel to be free');
  expect(botReplies(h, job.channel, job.threadTs as string).filter((m) => /is done/.test(m.text ?? ''))).toHaveLength(1);
});

test('a job whose agent runs without a heartbeat is failed as lapsed, and its agent stopped', async () => {
  // The agent first, as the spawner would: a record without its agent would be "gone".
  const id = newJobId();
  const containerId = await plantAgent(id, 'C0LAPSED');
  const job = await plantRunningJob('C0LAPSED', id);
  const told = await resultIn(job, /failed/);
  expect(told.text).toMatch(/stopped sending heartbeats/);
  await eventually(() => gone(containerId), 'the lapsed agent to be stopped and removed', 20_000);
  await eventually(async () => (await redis.exists(k.channelLock(job.channel))) === 0, 'the channel to be free');
  await eventually(async () => (await metric('fail-lapsed')) >= 1, 'the action counted');
});

test('a running agent with a heartbeat but no supervisor and no queue entry is adopted: relayed to its end, result posted once', async () => {
  const id = newJobId();
  const containerId = await plantAgent(id, 'C0ADOPT');
  await redis.set(k.jobHeartbeat(id), String(Date.now()), 'PX', 3000);
  const beat = setInterval(() => void redis.set(k.jobHeartbeat(id), String(Date.now()), 'PX', 3000), 500);
  const job = await plantRunningJob('C0ADOPT', id);
  try {
    // Adopted: a supervisor holds the job.
    await eventually(async () => (await redis.exists(k.jobSupervisor(job.id))) === 1, 'a supervisor to adopt the job', 20_000);
    expect(await metric('adopt')).toBeGreaterThanOrEqual(1);
    await redis.xadd(
      k.jobEvents(job.id),
      '*',
      'e',
      JSON.stringify({ v: EVENT_SCHEMA_VERSION, jobId: job.id, seq: 1, ts: Date.now(), type: 'done', summary: 'adopted and done' }),
    );
    const told = await resultIn(job, /is done/);
    expect(JSON.stringify(told.blocks)).toContain('adopted and done');
  } finally {
    clearInterval(beat);
  }
  await eventually(() => gone(containerId), 'the adopted agent to be stopped after its end', 20_000);
  await eventually(async () => (await redis.exists(k.channelLock(job.channel))) === 0, 'the channel to be free');
  expect(botReplies(h, job.channel, job.threadTs as string).filter((m) => /is done/.test(m.text ?? ''))).toHaveLength(1);
});

test('a channel still locked by a job that has ended is freed', async () => {
  const job = aJob({ id: newJobId(), project: 'demo', channel: 'C0STALE', state: 'done', createdAt: Date.now(), finishedAt: Date.now() });
  await store.save(job);
  await redis.set(k.channelLock(job.channel), job.id, 'PX', 600_000);
  await eventually(async () => (await redis.exists(k.channelLock(job.channel))) === 0, 'the stale channel lock to be freed', 20_000);
  await eventually(async () => (await metric('free-channel')) >= 1, 'the action counted');
});
