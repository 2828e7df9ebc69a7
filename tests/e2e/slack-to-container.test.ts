// The whole path, with real parts: a Slack message (through the emulator, in
// both Slack modes) → the dispatcher → BullMQ → a real agent container built
// from our Dockerfile → events in Redis Streams → one status message updated
// in the thread → the final result → the container gone.
import { jest } from '@jest/globals';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { isJobId } from '../../src/domain/job-id.js';
import { keys } from '../../src/domain/keys.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import { silentLogger } from '../../src/observability/logger.js';
import { doneMessages, watchChannelContainers } from '../support/job-watch.js';

jest.setTimeout(120_000);

const projects = (workspace: string) => `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'reading issue {issue}'; sleep 3; echo 'writing the fix'; sleep 3; echo 'Opened https://github.com/acme/demo/pull/7'"]
  broken:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'compiling'; echo 'error: 3 tests failed' >&2; exit 1"]
`;

describe.each(['socket', 'http'] as const)('end to end in %s mode', (mode) => {
  let h: Harness;
  const channel = mode === 'socket' ? 'C0E2ESOCK' : 'C0E2EHTTP';

  beforeAll(async () => {
    h = await startHarness({ mode, projectsYaml: projects });
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('fix #58 in demo runs one agent container and reports its progress and result in the thread', async () => {
    const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #58 in demo' });

    const running = await eventually(async () => {
      const list = await h.containers(channel);
      return list.find((c) => c.State === 'running');
    }, 'a running agent container for the channel');
    const jobId = running.Labels['switchboard.job-id'] as string;
    expect(isJobId(jobId)).toBe(true);
    expect(running.Labels['switchboard.project']).toBe('demo');
    expect(running.Labels['switchboard.channel']).toBe(channel);

    // The status message lives in the request's thread and is updated in place.
    const status = await h.emu.waitFor(
      () => botReplies(h, channel, request.ts).find((m) => m.updates > 0 && /running/.test(m.text ?? '')),
      { what: 'an updated status message saying running', timeoutMs: 30_000 },
    );
    expect(status.text).toContain('demo #58');

    // The same request while the job runs: a busy reply that links the job's thread, and no second container.
    const again = await h.emu.userSays({ channel, user: 'U0BOB', text: 'fix #58 in demo' });
    const busy = await h.emu.waitFor(() => botReplies(h, channel, again.ts).find((m) => /busy/.test(m.text ?? '')), {
      what: 'a busy reply',
    });
    expect(JSON.stringify(busy.blocks)).toContain(`/archives/${channel}/p${request.ts.replace('.', '')}`);
    const during = await h.containers(channel);
    expect(during).toHaveLength(1);

    const result = await h.emu.waitFor(() => botReplies(h, channel, request.ts).find((m) => /is done/.test(m.text ?? '')), {
      what: 'the final result',
      timeoutMs: 60_000,
    });
    expect(result.text).toContain('https://github.com/acme/demo/pull/7');
    const finalStatus = h.emu.messages({ channel }).find((m) => m.ts === status.ts);
    expect(finalStatus?.text).toMatch(/done in/);
    expect(finalStatus?.history.some((v) => /running/.test(v.text ?? ''))).toBe(true);

    await eventually(async () => (await h.containers(channel)).length === 0, 'the agent container to be removed');
    expect(doneMessages(h, channel, request.ts)).toHaveLength(1);
    // The request was marked taken, then done.
    const marks = await h.emu.waitFor(
      () => {
        const names = h.emu
          .messages({ channel })
          .find((m) => m.ts === request.ts)
          ?.reactions?.map((r) => r.name);
        return names?.includes('white_check_mark') && names;
      },
      { what: 'the ✅ reaction on the request' },
    );
    expect(marks).toEqual(['eyes', 'white_check_mark']);

    // BullMQ runs a job again when it thinks its worker stalled: a second run of the finished job
    // (awaited to its end through BullMQ) must not post the result again.
    const queue = new JobQueue({
      redisUrl: h.config.redis.url,
      prefix: keys(h.prefix).queuePrefix,
      maxConcurrentJobs: 1,
      logger: silentLogger,
    });
    try {
      await queue.queue.add('run', { jobId, channel }, { jobId: `${jobId}-again` });
      await eventually(async () => (await queue.queue.getJobState(`${jobId}-again`)) === 'completed', 'the second run to complete');
    } finally {
      await queue.close();
    }
    expect(doneMessages(h, channel, request.ts)).toHaveLength(1);
    expect(botReplies(h, channel, request.ts)).toHaveLength(2); // the status message and the result
  });

  test('an agent command that exits 1 fails the job with its reason, and the channel accepts a new job', async () => {
    const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #7 in broken' });
    const failure = await h.emu.waitFor(
      () =>
        botReplies(h, channel, request.ts).find(
          (m) => /failed/.test(m.text ?? '') && m.updates === 0 && m !== botReplies(h, channel, request.ts)[0],
        ),
      {
        what: 'the failure message',
        timeoutMs: 60_000,
      },
    );
    expect(failure.text).toContain('exited with code 1');
    expect(failure.text).toContain('error: 3 tests failed');

    const next = await h.emu.userSays({ channel, user: 'U0BOB', text: 'fix #8 in broken' });
    const accepted = await h.emu.waitFor(() => botReplies(h, channel, next.ts)[0], { what: 'a reply to the next request' });
    expect(accepted.text).toContain('broken #8');
    expect(accepted.text).not.toMatch(/busy/);
    await h.emu.waitFor(() => botReplies(h, channel, next.ts).find((m) => m.ts !== accepted.ts && /failed/.test(m.text ?? '')), {
      what: 'the second job to end',
      timeoutMs: 60_000,
    });
    await eventually(async () => (await h.containers(channel)).length === 0, 'no agent containers left');
  });

  test("another bot's `fix #12 in demo` and a message subtype get no reply and start no agent", async () => {
    const quiet = `${channel}Q`;
    const containers = watchChannelContainers(h.docker, quiet);
    let personJob: string | undefined;
    try {
      const fromBot = await h.emu.otherBotSays({ channel: quiet, text: 'fix #12 in demo' });
      const meMessage = await h.emu.userSays({ channel: quiet, user: 'U0ALICE', text: 'fix #12 in demo', subtype: 'me_message' });
      // A person's request after them takes the channel (not busy) and runs to its end: by then
      // anything the two earlier events had started would have replied and held the channel.
      const person = await h.emu.userSays({ channel: quiet, user: 'U0BOB', text: 'fix #13 in broken' });
      const status = await h.emu.waitFor(() => botReplies(h, quiet, person.ts)[0], {
        what: "the person's status message",
        timeoutMs: 15_000,
      });
      expect(status.text).toContain('broken #13');
      expect(status.text).not.toMatch(/busy/);
      personJob = /job `([a-z0-9]+)`/.exec(JSON.stringify(status.blocks))?.[1];
      await h.emu.waitFor(() => botReplies(h, quiet, person.ts).find((m) => m.ts !== status.ts && /failed/.test(m.text ?? '')), {
        what: "the person's job to end",
        timeoutMs: 60_000,
      });
      await eventually(async () => (await h.containers(quiet)).length === 0, 'no agent containers left');

      expect(botReplies(h, quiet, fromBot.ts)).toEqual([]);
      expect(botReplies(h, quiet, meMessage.ts)).toEqual([]);
      expect(h.emu.messages({ channel: quiet }).filter((m) => m.bot_id === h.emu.botId && m.thread_ts !== person.ts)).toEqual([]);
    } finally {
      await containers.stop();
    }
    // Only the person's job ever had an agent here (its own short-lived one may have come and gone between two looks).
    expect(personJob).toBeDefined();
    expect([...containers.jobIds].filter((id) => id !== personJob)).toEqual([]);
  });
});
