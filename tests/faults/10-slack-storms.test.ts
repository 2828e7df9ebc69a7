// Drill 10: the Slack Web API answers 500s, then a 429 storm, for "a minute"
// while a job runs and ends. Time scale: 3× (the minute lasts 20 s: 10 s of
// HTTP 500 on every method, then 10 s of 429 with Retry-After 1 s). The status
// catches up afterwards and the result, kept by the delivery while Slack
// refused it, is posted exactly once.
import { jest } from '@jest/globals';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually, sleep } from '../support/eventually.js';
import { expectAftermath, watchAgentStarts, tickerCatalogue } from './support/drill.js';

jest.setTimeout(120_000);

const SCALE = 3;
const FAULT_MS = 60_000 / SCALE;

const projects = tickerCatalogue({ ticks: 12, everySeconds: 1, pr: 10 });

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ mode: 'socket', projectsYaml: projects });
});
afterAll(async () => {
  h?.emu.setFault(undefined);
  await h?.stop();
});

test('drill 10: 500s then a 429 storm for a (scaled) minute → the job’s result is posted once afterwards, the dispatcher stays ready', async () => {
  const starts = await watchAgentStarts(h.docker);
  try {
    const request = await h.emu.userSays({ channel: 'C0DRILL10', user: 'U0ALICE', text: 'fix #10 in ticker' });
    await h.emu.waitFor(() => botReplies(h, 'C0DRILL10', request.ts).find((m) => /tick \d+/.test(JSON.stringify(m.blocks ?? m.text))), {
      what: 'the agent’s first ticks in the status',
      timeoutMs: 20_000,
    });

    h.emu.setFault({ status: 500 });
    await sleep(FAULT_MS / 2); // the fault is the clock: nothing to wait for
    h.emu.setFault({ status: 429, retryAfterSeconds: 1 });
    // Readiness never depends on Slack: probes must not take a replica out because Slack is down.
    const during = await fetch(`http://127.0.0.1:${h.dispatcher?.port ?? 0}/readyz`);
    expect(during.status).toBe(200);
    await sleep(FAULT_MS / 2);
    const refused = h.emu.calls.filter((c) => c.status === 500 || c.status === 429).length;
    h.emu.setFault(undefined);
    expect(refused).toBeGreaterThan(0); // the dispatcher did try, and was refused

    // The job ended during the storm (12 s of work): its result is delivered once Slack answers.
    await expectAftermath(h, { starts, told: /^ticker #10 is done/, replicaPorts: [h.dispatcher?.port ?? 0] });
    // The status message caught up with the end too.
    await eventually(
      async () => /done|finished/i.test(botReplies(h, 'C0DRILL10', request.ts)[0]?.text ?? ''),
      'the status message to show the end',
      30_000,
    );
  } finally {
    await starts.stop();
  }
});
