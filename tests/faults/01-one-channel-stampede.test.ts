// Drill 1: 1,000 people ask for a job in one channel at the same moment,
// spread by the Slack emulator (Socket Mode, round robin) over three
// dispatcher processes (node dist/main.js). Exactly one agent container
// starts; the 999 refusals become a few "busy" answers whose counts add up
// to 999 ("… (and 998 more asked)"), not 999 messages in the channel.
// Real time (no emulator time scale).
import { jest } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { ensureDispatcherBuild, type ReplicaProcess, spawnConnectedReplicas, stopReplicas } from '../support/replica-process.js';
import { expectAftermath, harnessJobs, watchAgentStarts, type AgentStarts } from './support/drill.js';

jest.setTimeout(150_000);

const REQUESTS = 1000;
const CHANNEL = 'C0STAMPEDE';
const FINISH = '.finish-now';
/** A busy answer, and the count an edited one adds. */
const BUSY = /busy with another job/;
const MORE = /\(and ([\d,]+) more asked\)/;

let workspaceDir = '';
// demo works until the test drops FINISH into its workspace: it must outlast the whole stampede.
const projects = (workspace: string) => {
  workspaceDir = workspace;
  return `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'on it'; i=0; while [ $i -lt 600 ] && [ ! -e /workspace/${FINISH} ]; do sleep 0.1; i=$((i+1)); done; echo finished"]
`;
};

let h: Harness | undefined;
let replicas: ReplicaProcess[] = [];
let starts: AgentStarts | undefined;
let passed = false;

beforeAll(async () => {
  await ensureDispatcherBuild();
  h = await startHarness({ mode: 'socket', projectsYaml: projects, dispatcher: false, maxConcurrentJobs: 4 });
  replicas = await spawnConnectedReplicas(h, 3);
});

afterAll(async () => {
  await starts?.stop();
  await stopReplicas(replicas, { showOutput: !passed });
  await h?.stop();
});

test('1,000 concurrent "fix" requests for one channel over three dispatcher processes: one container, and the 999 refusals are answered by a few messages that count them all', async () => {
  const harness = h as Harness;
  starts = await watchAgentStarts(harness.docker);

  const said = await Promise.all(
    Array.from({ length: REQUESTS }, (_, i) => harness.emu.userSays({ channel: CHANNEL, user: `U0ASK${i}`, text: 'fix #58 in demo' })),
  );
  // The refusals: each busy answer counts itself and the ones it stands for; together, everyone but the winner.
  const busyAnswers = () => harness.emu.messages({ channel: CHANNEL }).filter((m) => m.bot_id && BUSY.test(m.text ?? ''));
  const counted = () => busyAnswers().reduce((n, m) => n + 1 + Number((MORE.exec(m.text ?? '')?.[1] ?? '0').replace(/,/g, '')), 0);
  await eventually(
    async () => counted() === REQUESTS - 1,
    `busy answers that count all ${REQUESTS - 1} refusals (so far ${counted()} in ${busyAnswers().length} messages)`,
    60_000,
  );
  expect(busyAnswers().length).toBeLessThanOrEqual(5);
  // Every replica took part (Slack acknowledges first, so the count is read once all were answered).
  const handledBy = replicas.map((r) => r.logLines().filter((l) => l.msg === 'answered a message').length);
  expect(handledBy.every((n) => n > 0)).toBe(true);
  expect(handledBy.reduce((a, b) => a + b, 0)).toBe(REQUESTS);
  expect(busyAnswers().some((m) => MORE.test(m.text ?? ''))).toBe(true);

  // One job, one container.
  const jobs = await harnessJobs(harness);
  expect(jobs).toHaveLength(1);
  const job = jobs[0];
  expect(said.some((s) => s.ts === job?.requestTs)).toBe(true);
  expect(starts.byJob.get(job?.id ?? '')).toBe(1);
  expect((await harness.containers(CHANNEL)).length).toBe(1);

  writeFileSync(join(workspaceDir, FINISH), '');
  await expectAftermath(harness, { starts, told: /is done/, replicaPorts: replicas.map((r) => r.port) });
  // The winner's thread: its status message and its result, no busy answer.
  expect(botReplies(harness, CHANNEL, job?.requestTs ?? '').filter((m) => BUSY.test(m.text ?? ''))).toEqual([]);
  passed = true;
});
