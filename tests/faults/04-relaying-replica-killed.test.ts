// Drill 4: `kill -9` of the replica relaying a job. Two dispatcher processes
// (`node dist/main.js`) share the emulator (Socket Mode, round robin), the
// test Redis and the real Docker engine. Whichever takes the job is killed
// with SIGKILL mid-job: no shutdown code runs. The other must take the job
// over within 15 s (its queue lock lapses, the stalled check hands the job
// on, the supervision lease passes), attach to the same container, relay the
// rest of the agent's events once and in order, and post the result once.
// Real time (no emulator time scale).
import { jest } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { keys as keysFor } from '../../src/domain/keys.js';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { versions } from '../support/job-watch.js';
import type { RecordedMessage } from '../support/slack-emulator/index.js';
import { ensureDispatcherBuild, type ReplicaProcess, spawnConnectedReplicas, stopReplicas } from '../support/replica-process.js';
import { expectAftermath, harnessJobs, resultMessages, watchAgentStarts, type AgentStarts } from './support/drill.js';

jest.setTimeout(120_000);

const CHANNEL = 'C0KILLED';
const LINES = 60;
const FINISH = '.finish-now';
/** From the kill to the other replica holding the job (DEFAULT_TIMINGS: queue lock 8 s, stalled check every 2 s). */
const TAKEOVER_MS = 15_000;

// A line a second until the test drops FINISH into the workspace, so the agent outlives any takeover.
const projects = (workspace: string) => `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "i=1; while [ $i -le ${LINES} ] && [ ! -e /workspace/${FINISH} ]; do echo \\"working $i of ${LINES}\\"; sleep 1; i=$((i+1)); done; echo 'Opened https://github.com/acme/demo/pull/58'"]
`;

/** The highest "working i" a version of the status message shows (0: none). */
const workingLine = (v: { blocks?: unknown[] }): number =>
  Math.max(0, ...[...JSON.stringify(v.blocks ?? []).matchAll(/working (\d+) of/g)].map((m) => Number(m[1])));

let h: Harness | undefined;
let replicas: ReplicaProcess[] = [];
let starts: AgentStarts | undefined;
let redis: Redis | undefined;
let passed = false;

beforeAll(async () => {
  await ensureDispatcherBuild();
  h = await startHarness({ mode: 'socket', projectsYaml: projects, dispatcher: false });
  replicas = await spawnConnectedReplicas(h, 2);
  redis = new Redis(h.config.redis.url);
});

afterAll(async () => {
  await starts?.stop();
  await stopReplicas(replicas, { showOutput: !passed });
  redis?.disconnect();
  await h?.stop();
});

test('the relaying replica killed with SIGKILL: the other takes over within 15 s, relays the rest once and in order, and posts the result once', async () => {
  const harness = h as Harness;
  const r = redis as Redis;
  starts = await watchAgentStarts(harness.docker);
  const request = await harness.emu.userSays({ channel: CHANNEL, user: 'U0ALICE', text: 'fix #58 in demo' });
  const job = await eventually(
    async () => (await harnessJobs(harness)).find((j) => j.channel === CHANNEL && j.state === 'running'),
    'the job to run',
  );
  const status = await harness.emu.waitFor(() => botReplies(harness, CHANNEL, request.ts).find((m) => workingLine(m) >= 2), {
    what: 'the status message showing the agent at work',
    timeoutMs: 30_000,
  });

  // The replica relaying the job holds its supervision lease (host:pid:…).
  const supervisorKey = keysFor(harness.prefix).jobSupervisor(job.id);
  const holder = (await r.get(supervisorKey)) ?? '';
  const relaying = replicas.find((p) => holder.split(':')[1] === String(p.child.pid));
  const survivor = replicas.find((p) => p !== relaying);
  if (!relaying || !survivor) throw new Error(`no replica holds the job (supervision lease: ${holder || 'none'})`);

  const killedAt = Date.now();
  expect(await relaying.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
  const atKill = harness.emu.messages({ channel: CHANNEL }).find((m) => m.ts === status.ts) as RecordedMessage;
  const updatesAtKill = atKill.updates;
  const lineAtKill = Math.max(...versions(atKill).map(workingLine));

  // Taken over: the survivor holds the job, within the bound.
  await eventually(
    async () => (await r.get(supervisorKey))?.split(':')[1] === String(survivor.child.pid),
    'the surviving replica to hold the job',
    TAKEOVER_MS + 5000,
  );
  const takeoverMs = Date.now() - killedAt;
  process.stderr.write(`drill 4: taken over ${takeoverMs} ms after the kill\n`);
  expect(takeoverMs).toBeLessThanOrEqual(TAKEOVER_MS);

  // The rest is relayed into the same status message...
  await harness.emu.waitFor(
    () => {
      const now = harness.emu.messages({ channel: CHANNEL }).find((m) => m.ts === status.ts) as RecordedMessage;
      return versions(now)
        .slice(updatesAtKill + 1)
        .find((v) => workingLine(v) > lineAtKill);
    },
    { what: `a status update after the kill with a line later than "working ${lineAtKill}"`, timeoutMs: 15_000 },
  );
  // ...then the agent is told to finish, and the drill's aftermath holds (no second container, one result, channel free, ready).
  writeFileSync(join(harness.workspace, FINISH), '');
  await expectAftermath(harness, { starts, told: /is done/, replicaPorts: [survivor.port] });

  // Once and in order: the status message never went back to an earlier line (no event replayed), and there is one of it.
  const final = harness.emu.messages({ channel: CHANNEL }).find((m) => m.ts === status.ts) as RecordedMessage;
  const lines = versions(final)
    .map(workingLine)
    .filter((n) => n > 0);
  expect(lines).toEqual([...lines].sort((a, b) => a - b));
  expect(final.text).toMatch(/done in/);
  const [done] = await harnessJobs(harness).then((all) => all.filter((j) => j.id === job.id));
  expect(resultMessages(harness, done ?? job)).toHaveLength(1);
  expect(botReplies(harness, CHANNEL, request.ts).filter((m) => m.ts !== status.ts && !/is done/.test(m.text ?? ''))).toEqual([]);
  passed = true;
});
