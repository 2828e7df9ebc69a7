// Drill 3: Slack delivers the same event three times, and each delivery
// reaches a different dispatcher process (the emulator's Socket Mode hands
// envelopes out round robin over three `node dist/main.js` replicas): at
// once (a retry racing the first delivery), and once more after the job was
// taken (a late retry). One job, one container, one status message, one
// result. Real time (no emulator time scale).
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { ensureDispatcherBuild, type ReplicaProcess, spawnConnectedReplicas, stopReplicas } from '../support/replica-process.js';
import { expectAftermath, harnessJobs, watchAgentStarts, type AgentStarts } from './support/drill.js';

jest.setTimeout(120_000);

const CHANNEL = 'C0REDELIVER';

const projects = (workspace: string) => `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'on it'; sleep 2; echo finished"]
`;

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

/** One Events API delivery of a person's channel message, exactly as Slack would send it each time. */
function messageEvent(emu: Harness['emu'], eventId: string, ts: string) {
  return {
    token: 'emulated-verification-token',
    team_id: emu.teamId,
    api_app_id: emu.appId,
    event: {
      type: 'message',
      user: 'U0ALICE',
      text: 'fix #58 in demo',
      ts,
      channel: CHANNEL,
      event_ts: ts,
      channel_type: 'channel',
      team: emu.teamId,
      client_msg_id: randomUUID(),
    },
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: emu.teamId, user_id: emu.botUserId, is_bot: true, is_enterprise_install: false }],
  };
}

test('the same event delivered three times, to three different replicas, starts one job: one container, one status message, one result', async () => {
  const harness = h as Harness;
  starts = await watchAgentStarts(harness.docker);
  const ts = '1764450000.000100';
  const body = messageEvent(harness.emu, 'Ev0REDELIVER1', ts);

  // The first delivery and its retry race each other (two replicas); the second retry comes once the job is queued (the third).
  await Promise.all([harness.emu.deliverRaw(body), harness.emu.deliverRaw(body, { retryNum: 1 })]);
  await eventually(async () => (await harnessJobs(harness)).length === 1, 'the job to be recorded');
  await harness.emu.deliverRaw(body, { retryNum: 2 });

  // All three reached a replica each (round robin; under load the emulator may retry one more time), and
  // each replica says what it did with it: one answered it, every other delivery was skipped.
  expect(harness.emu.deliveries.filter((d) => d.kind === 'events_api' && d.outcome === 'acked').length).toBeGreaterThanOrEqual(3);
  const seen = () =>
    replicas.map((r) => r.logLines().filter((l) => l.msg === 'answered a message' || String(l.msg).includes('skipped')).length);
  await eventually(async () => seen().every((n) => n >= 1), `each replica to have handled or skipped a delivery (${seen().join(', ')})`);
  const answered = replicas.flatMap((r) => r.logLines().filter((l) => l.msg === 'answered a message'));
  const skipped = replicas.flatMap((r) => r.logLines().filter((l) => String(l.msg).includes('skipped')));
  expect(answered).toHaveLength(1);
  expect(skipped.length).toBeGreaterThanOrEqual(2);
  expect(skipped.every((l) => l.ref === 'Ev0REDELIVER1')).toBe(true);

  const jobs = await harnessJobs(harness);
  expect(jobs).toHaveLength(1);
  expect(jobs[0]?.requestRef).toBe('Ev0REDELIVER1');
  await expectAftermath(harness, { starts, told: /is done/, replicaPorts: replicas.map((r) => r.port) });
  // One status message and one result in the thread: nothing doubled.
  expect(botReplies(harness, CHANNEL, ts).map((m) => m.text?.replace(/\s+/g, ' ').slice(0, 40))).toHaveLength(2);
  // The job's log lines carry the Slack event id from the request to the result.
  const lines = replicas.flatMap((r) => r.logLines()).filter((l) => l.jobId === jobs[0]?.id);
  expect(lines.find((l) => l.msg === 'job queued')?.ref).toBe('Ev0REDELIVER1');
  expect(lines.find((l) => l.msg === 'result announced')?.ref).toBe('Ev0REDELIVER1');
  passed = true;
});
