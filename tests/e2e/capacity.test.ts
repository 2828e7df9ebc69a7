// MAX_CONCURRENT_JOBS is a cap on running agents across every replica: a job
// in another channel waits in the queue, says so in its status message, and
// starts when a slot frees up, even when another replica has a worker idle.
import { jest } from '@jest/globals';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';

jest.setTimeout(120_000);

const projects = (workspace: string) => `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'working on {issue}'; sleep 4; echo 'finished'"]
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ mode: 'socket', projectsYaml: projects, maxConcurrentJobs: 1 });
  // A second replica: each has a worker with a free slot of its own, so only the shared cap can hold a job back.
  await h.startReplica();
});
afterAll(async () => {
  await h?.stop();
});

test('with one slot and two replicas, a job in a second channel waits queued until the first ends, and only one agent runs at a time', async () => {
  expect(h.emu.socketConnections()).toBe(2);
  const first = await h.emu.userSays({ channel: 'C0CAPONE', user: 'U0ALICE', text: 'fix #1 in demo' });
  await eventually(async () => (await h.containers('C0CAPONE')).find((c) => c.State === 'running'), 'the first agent to run');

  const second = await h.emu.userSays({ channel: 'C0CAPTWO', user: 'U0BOB', text: 'fix #2 in demo' });
  const waiting = await h.emu.waitFor(() => botReplies(h, 'C0CAPTWO', second.ts)[0], { what: "the second job's status message" });
  expect(waiting.text).toMatch(/queued/);

  // Watch both channels until both jobs are done: never two agents at once.
  let most = 0;
  await eventually(
    async () => {
      const running = [...(await h.containers('C0CAPONE')), ...(await h.containers('C0CAPTWO'))].filter((c) => c.State === 'running');
      most = Math.max(most, running.length);
      const done = (channel: string, ts: string) => botReplies(h, channel, ts).some((m) => /is done/.test(m.text ?? ''));
      return done('C0CAPONE', first.ts) && done('C0CAPTWO', second.ts);
    },
    'both jobs to finish',
    90_000,
  );
  expect(most).toBe(1);
  // The second job's status message moved on from queued to done.
  const status = h.emu.messages({ channel: 'C0CAPTWO' }).find((m) => m.ts === waiting.ts);
  expect(status?.text).toMatch(/done in/);
  expect(status?.history.some((v) => /queued/.test(v.text ?? ''))).toBe(true);
});
