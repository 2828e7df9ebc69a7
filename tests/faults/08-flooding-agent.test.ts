// Drill 8: an agent writes 10,000 log lines a second for five seconds, with a
// progress line between rounds. The runner caps its log events (batches of
// 50 lines, 4 a second), counts every line it drops and says so; the job's
// stream stays far under its cap (MAXLEN ~ 1000), the latest progress and the
// final result come through, and the result says how many lines were dropped
// ("… log lines dropped"). Real time (no emulator time scale).
import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { startHarness, type Harness } from '../support/dispatcher-harness.js';
import { keys as keysFor } from '../../src/domain/keys.js';
import { parseAgentEvent } from '../../src/domain/events.js';
import { STREAM_MAXLEN } from '../../src/domain/agent-contract.js';
import { expectAftermath, harnessJobs, resultMessages, watchAgentStarts, type AgentStarts } from './support/drill.js';

jest.setTimeout(90_000);

const CHANNEL = 'C0FLOOD';
const ROUNDS = 5;
const LINES_PER_ROUND = 10_000;
const DROPPED = /([\d,]+) log lines dropped/;

// Each round: a progress line (the line protocol), then 10,000 lines at once, then the rest of the second.
const flood = `i=1; while [ $i -le ${ROUNDS} ]; do echo "::switchboard:: {\\"type\\":\\"progress\\",\\"step\\":2,\\"total\\":3,\\"name\\":\\"run agent\\",\\"text\\":\\"flood round $i\\"}"; seq 1 ${LINES_PER_ROUND}; sleep 1; i=$((i+1)); done; echo 'all rounds written'`;
const projects = (workspace: string) => `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", ${JSON.stringify(flood)}]
`;

let h: Harness | undefined;
let starts: AgentStarts | undefined;

beforeAll(async () => {
  h = await startHarness({ mode: 'socket', projectsYaml: projects, maxConcurrentJobs: 2 });
});
afterAll(async () => {
  await starts?.stop();
  await h?.stop();
});

test('an agent flooding 10,000 log lines a second: capped, every dropped line counted and said, the latest progress and the result come through', async () => {
  const harness = h as Harness;
  starts = await watchAgentStarts(harness.docker);
  const request = await harness.emu.userSays({ channel: CHANNEL, user: 'U0ALICE', text: 'fix #58 in demo' });

  // The job ends done, its result said once, and its thread says how many lines were dropped.
  const toldDropped = (_job: unknown, messages: { blocks?: unknown[] }[]) =>
    messages.some((m) => DROPPED.test(JSON.stringify(m.blocks ?? [])));
  await expectAftermath(harness, {
    starts,
    told: toldDropped,
    replicaPorts: [harness.dispatcher?.port ?? 0],
    affected: (j) => j.channel === CHANNEL,
  });
  const job = (await harnessJobs(harness)).find((j) => j.channel === CHANNEL && j.requestTs === request.ts);
  // The flood's progress reached the status message while it ran (as often as chat.update's budget allows);
  // after it, the runner's own last step.
  expect(job).toMatchObject({ state: 'done', stepName: 'finish' });
  const status = harness.emu.messages({ channel: CHANNEL }).find((m) => m.ts === job?.statusTs);
  expect(status?.history.some((v) => /flood round \d/.test(JSON.stringify(v.blocks ?? [])))).toBe(true);
  const [result] = resultMessages(harness, job as NonNullable<typeof job>);
  const said = Number((DROPPED.exec(JSON.stringify(result?.blocks ?? []))?.[1] ?? '0').replace(/,/g, ''));
  // Every dropped line counted: what was shown plus what was dropped is what the agent wrote.
  expect(said).toBe(job?.droppedLogLines);
  expect(said).toBeGreaterThan(ROUNDS * LINES_PER_ROUND * 0.8);

  // The stream: a few dozen entries, far under its cap; the latest progress and the result are in it.
  const redis = new Redis(harness.config.redis.url);
  try {
    const entries = await redis.xrange(keysFor(harness.prefix).jobEvents(job?.id ?? ''), '-', '+');
    const events = entries.map(([, fields]) => parseAgentEvent(fields[fields.indexOf('e') + 1])).flatMap((p) => (p.ok ? [p.event] : []));
    expect(entries.length).toBeLessThan(STREAM_MAXLEN / 4);
    const shown = events.flatMap((e) => (e.type === 'log' ? e.text.split('\n') : [])).filter((l) => /^\d+$/.test(l)).length;
    expect(shown + said).toBe(ROUNDS * LINES_PER_ROUND);
    expect(
      events
        .filter((e) => e.type === 'progress')
        .map((e) => (e.type === 'progress' ? (e.text ?? e.name) : ''))
        .slice(-2),
    ).toEqual([`flood round ${ROUNDS}`, 'finish']);
    expect(events.at(-1)).toMatchObject({ type: 'done' });
  } finally {
    redis.disconnect();
  }
});
