// Drill 7 (issue 11): an agent container is killed (`docker kill`, SIGKILL)
// while its job runs. The dispatcher is a real OS process on the Slack
// emulator (real time, not scaled), the test Redis and the real Docker engine.
// Expected: the user is told the agent was killed, the channel is free, and
// the job is not started again; then the aftermath every drill checks.
import { jest } from '@jest/globals';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { dumpOutput, ensureDispatcherBuild, type ReplicaProcess, spawnConnectedReplicas } from '../support/replica-process.js';
import { expectAftermath, watchAgentStarts, type AgentStarts } from './support/drill.js';

jest.setTimeout(90_000);

const CHANNEL = 'C0DRILL7';
// `slow` works until it is killed; `demo` ends at once (the aftermath's new job).
const projects = (workspace: string) => `
projects:
  slow:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'reading issue {issue}'; while true; do echo 'working'; sleep 1; done"]
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'reading issue {issue}'; echo 'Opened https://github.com/acme/demo/pull/1'"]
`;

/** What the thread says when the agent was killed (the spawner's words for exit code 137). */
const KILLED = /the agent exited with code 137 without reporting a result \(it was killed by SIGKILL/;

let h: Harness | undefined;
let replica: ReplicaProcess | undefined;
let starts: AgentStarts | undefined;
let passed = false;

beforeAll(async () => {
  await ensureDispatcherBuild();
  h = await startHarness({ mode: 'socket', projectsYaml: projects, dispatcher: false });
  [replica] = await spawnConnectedReplicas(h, 1);
});

afterAll(async () => {
  await starts?.stop();
  if (replica && !passed) dumpOutput('drill 7 replica', replica);
  await replica?.kill('SIGTERM');
  await h?.stop();
});

test('drill 7: an agent container killed mid-job — the user is told it was killed, the channel is freed, the job is not restarted', async () => {
  const harness = h!;
  starts = await watchAgentStarts(harness.docker);

  const request = await harness.emu.userSays({ channel: CHANNEL, user: 'U0ALICE', text: 'fix #7 in slow' });
  const agent = await eventually(async () => (await harness.containers(CHANNEL)).find((c) => c.State === 'running'), 'the running agent');
  await harness.emu.waitFor(
    () => botReplies(harness, CHANNEL, request.ts).find((m) => m.updates > 0 && /working/.test(JSON.stringify(m.blocks ?? m.text))),
    {
      what: 'the status showing the agent at work',
      timeoutMs: 30_000,
    },
  );

  await harness.docker.getContainer(agent.Id).kill();

  const told = await harness.emu.waitFor(() => botReplies(harness, CHANNEL, request.ts).find((m) => KILLED.test(m.text ?? '')), {
    what: 'the thread to say the agent was killed',
    timeoutMs: 30_000,
  });
  expect(told.text).toMatch(/^slow #7 failed/);
  // Not restarted: the killed container was the job's only one, and none runs for the channel now.
  await eventually(async () => (await harness.containers(CHANNEL)).length === 0, 'no agent left in the channel');

  await expectAftermath(harness, { starts, told: KILLED, affected: (job) => job.channel === CHANNEL, replicaPorts: [replica!.port] });
  passed = true;
});
