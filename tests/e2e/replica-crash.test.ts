// DESIGN §1: "a replica may die at any moment". Replica A is a real OS process
// (node dist/main.js) on the Slack emulator, the test Redis and the real Docker
// engine; it takes a job, starts its agent, and is killed with SIGKILL: no
// shutdown code runs, its BullMQ lock simply lapses. Replica B (in-process)
// must take the job over from BullMQ's stalled check, attach to the same
// container, relay the rest and post the result once.
import { jest } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { keys as keysFor } from '../../src/domain/keys.js';
import { QUEUE_NAME } from '../../src/jobs/job-queue.js';
import { botReplies, expectChannelFree, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually, sleep } from '../support/eventually.js';
import { dumpOutput, ensureDispatcherBuild, spawnReplica, type ReplicaProcess } from '../support/replica-process.js';
import { DUPLICATE_WATCH_MS, doneMessages, versions, watchJobContainers, type ContainerWatch } from '../support/job-watch.js';
import type { RecordedMessage } from '../support/slack-emulator/index.js';
import { isJobId } from '../../src/domain/job-id.js';

// A's queue lock (8 s) must lapse and B's stalled check (every 2 s) see it: the takeover is bounded by TAKEOVER_MS.
jest.setTimeout(120_000);

const LINES = 120;
const FINISH = '.finish-now';

// demo prints a line every 2 s until the test drops FINISH into its workspace (or after LINES lines), so it is
// still running when B takes over however long the takeover takes, and ends as soon as the test has seen it.
let workspaceDir = '';
const projects = (workspace: string) => {
  workspaceDir = workspace;
  return `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'reading issue {issue}'; i=1; while [ $i -le ${LINES} ] && [ ! -e /workspace/${FINISH} ]; do echo \\"working $i of ${LINES}\\"; sleep 2; i=$((i+1)); done; echo 'Opened https://github.com/acme/demo/pull/58'"]
  broken:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'error: 3 tests failed' >&2; exit 1"]
`;
};

/** From B's start to B relaying the job: A's queue lock lapses (≤ 8 s after the kill), then B's next stalled check (≤ 2 s). */
const TAKEOVER_MS = 15_000;

/** The highest "working i of LINES" a version of the status message shows (0: none). */
const lastWorkingLine = (v: { blocks?: unknown[] }): number =>
  Math.max(0, ...[...JSON.stringify(v.blocks ?? []).matchAll(new RegExp(`working (\\d+) of ${LINES}`, 'g'))].map((x) => Number(x[1])));

describe('a dispatcher replica that dies (socket mode, A in its own process)', () => {
  let h: Harness | undefined;
  let a: ReplicaProcess | undefined;
  let watch: ContainerWatch | undefined;
  let passed = false;

  beforeAll(async () => {
    // A runs the built dispatcher, exactly as `npm start` would.
    await ensureDispatcherBuild();
    // The harness brings the emulator, prefix and catalogue, but no dispatcher: A is the only replica at first.
    h = await startHarness({ mode: 'socket', projectsYaml: projects, dispatcher: false });
    const harness = h;
    a = await spawnReplica(harness);
    await a.ready();
    await harness.emu.waitFor(() => harness.emu.socketConnections() === 1, {
      what: "replica A's Socket Mode connection",
      timeoutMs: 15_000,
    });
  });

  afterAll(async () => {
    await watch?.stop();
    await a?.kill('SIGKILL');
    if (a && !passed) dumpOutput('replica A', a);
    await h?.stop();
  });

  test("a replica killed with SIGKILL mid-job: another replica takes the job over from BullMQ's stalled check, attaches to the same container, and the result is posted once", async () => {
    const harness = h as Harness;
    const replicaA = a as ReplicaProcess;
    const channel = 'C0CRASHED';

    // Only A is up, so A takes the job and starts its agent.
    const request = await harness.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #58 in demo' });
    const first = await eventually(
      async () => (await harness.containers(channel)).find((c) => c.State === 'running'),
      'a running agent container',
    );
    const jobId = first.Labels['switchboard.job-id'] as string;
    expect(isJobId(jobId)).toBe(true);
    watch = watchJobContainers(harness.docker, jobId);
    const status = await harness.emu.waitFor(
      () => botReplies(harness, channel, request.ts).find((m) => m.updates > 0 && /running/.test(m.text ?? '')),
      { what: 'the status message saying running', timeoutMs: 30_000 },
    );

    // A dies without a chance to hand anything over.
    process.kill(replicaA.child.pid as number, 'SIGKILL');
    expect(await replicaA.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await harness.emu.waitFor(() => harness.emu.socketConnections() === 0, {
      what: "the emulator to see A's connection gone",
      timeoutMs: 15_000,
    });
    const atKill = harness.emu.messages({ channel }).find((m) => m.ts === status.ts) as RecordedMessage;
    const updatesAtKill = atKill.updates;
    const workingAtKill = Math.max(...versions(atKill).map(lastWorkingLine));
    expect((await harness.docker.getContainer(first.Id).inspect()).State.Running).toBe(true);

    // B comes up in-process; nobody told it about the job: BullMQ's stalled check has to hand it over.
    await harness.startReplica();
    expect(harness.emu.socketConnections()).toBe(1);

    // B relays the agent's later progress into the same status message...
    await harness.emu.waitFor(
      () => {
        const now = harness.emu.messages({ channel }).find((m) => m.ts === status.ts) as RecordedMessage;
        return versions(now)
          .slice(updatesAtKill + 1)
          .find((v) => /running/.test(v.text ?? '') && lastWorkingLine(v) > workingAtKill);
      },
      {
        what: `the status message updated after the kill with a line later than "working ${workingAtKill} of ${LINES}"`,
        timeoutMs: TAKEOVER_MS,
      },
    );
    // ...and, once the agent is told to finish, posts the result once.
    writeFileSync(join(workspaceDir, FINISH), '');
    const result = await harness.emu.waitFor(() => doneMessages(harness, channel, request.ts)[0], {
      what: 'the final result',
      timeoutMs: TAKEOVER_MS,
    });
    expect(result.text).toContain('https://github.com/acme/demo/pull/58');
    await sleep(DUPLICATE_WATCH_MS); // room for a second announcement, if one were coming
    expect(doneMessages(harness, channel, request.ts)).toHaveLength(1);

    const finalStatus = harness.emu.messages({ channel }).find((m) => m.ts === status.ts) as RecordedMessage;
    expect(finalStatus.text).toMatch(/done in/);
    // Exactly one status message in the thread: B did not post a second one.
    expect(
      botReplies(harness, channel, request.ts).filter((m) => /demo #58/.test(m.text ?? '') && !/is done/.test(m.text ?? '')),
    ).toHaveLength(1);

    // It was BullMQ's stalled check that moved the job to B: stalled once, then completed.
    const connection = new Redis(harness.config.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection, prefix: keysFor(harness.prefix).queuePrefix });
    try {
      const bullJob = await queue.getJob(jobId);
      expect(bullJob?.stalledCounter).toBe(1);
      expect(await bullJob?.getState()).toBe('completed');
    } finally {
      await queue.close();
      await connection.quit();
    }

    // The agent is gone, and it was the one and only container this job ever had.
    await eventually(async () => (await harness.containers(channel)).length === 0, 'the agent container to be removed');
    await watch.stop();
    expect([...watch.ids]).toEqual([first.Id]);

    await expectChannelFree(harness, channel);
    passed = true;
  });
});
