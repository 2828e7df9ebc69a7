// Cancel, Retry, list and reactions end to end, in both Slack modes: the real
// Bolt app and Web API client against the Slack emulator (block_actions over
// Socket Mode, or signed HTTP posts), the dispatcher, BullMQ, and real agent
// containers. One dispatcher with one agent slot, so a second channel's job waits.
import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { buildAgentFixtures, type FixtureImages } from '../support/fixtures/agent-images.js';
import { ACTIONS } from '../../src/domain/actions.js';
import { keys } from '../../src/domain/keys.js';
import { signRequest, type RecordedMessage } from '../support/slack-emulator/index.js';

jest.setTimeout(120_000);

const projects = (workspace: string) => `
projects:
  slow:
    workspace: ${workspace}
    admins: [U0BOSS]
    agent:
      command: ["sh", "-c", "echo 'working on {issue}'; sleep 120"]
  broken:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'error: 3 tests failed' >&2; exit 1"]
`;

const blocksText = (m: RecordedMessage | undefined) => `${m?.text ?? ''} ${JSON.stringify(m?.blocks ?? [])}`;
const hasButton = (m: RecordedMessage | undefined, actionId: string) =>
  JSON.stringify(m?.blocks ?? []).includes(`"action_id":"${actionId}"`);

describe.each(['socket', 'http'] as const)('Cancel, Retry and list in %s mode', (mode) => {
  let h: Harness;
  let redis: Redis;
  const channel = mode === 'socket' ? 'C0CTLSOCK' : 'C0CTLHTTP';
  const waitingChannel = `${channel}W`;

  beforeAll(async () => {
    h = await startHarness({ mode, projectsYaml: projects, maxConcurrentJobs: 1 });
    redis = new Redis(h.config.redis.url);
  });
  afterAll(async () => {
    await redis?.quit();
    await h?.stop();
  });

  /** Starts `fix #N in slow` and waits for its agent; returns the request, the status message and the job id. */
  async function startSlow(issue: number, ch = channel, user = 'U0ALICE') {
    const request = await h.emu.userSays({ channel: ch, user, text: `fix #${issue} in slow` });
    const status = await h.emu.waitFor(() => botReplies(h, ch, request.ts)[0], { what: 'the status message', timeoutMs: 15_000 });
    const jobId = /"value":"([a-z0-9]+)"/.exec(JSON.stringify(status.blocks))?.[1] as string;
    // 👀 goes on once the job is in the queue: the status message is posted just before, so `list` or a
    // Cancel press between the two would race the enqueue.
    await h.emu.waitFor(
      () =>
        h.emu
          .messages({ channel: ch })
          .find((m) => m.ts === request.ts)
          ?.reactions?.some((r) => r.name === 'eyes'),
      { what: 'the 👀 reaction' },
    );
    return { request, status, jobId };
  }
  const running = (jobId: string) =>
    eventually(
      async () => (await h.containers(channel)).find((c) => c.Labels['switchboard.job-id'] === jobId && c.State === 'running'),
      'the agent to run',
    );
  const result = (ch: string, threadTs: string, re: RegExp) =>
    h.emu.waitFor(() => botReplies(h, ch, threadTs).find((m, i) => i > 0 && re.test(m.text ?? '')), {
      what: `a result matching ${re}`,
      timeoutMs: 60_000,
    });
  const statusOf = (ch: string, ts: string) => h.emu.messages({ channel: ch }).find((m) => m.ts === ts);
  const responsesTo = (url: string) =>
    h.emu
      .responses()
      .filter((r) => r.url === url)
      .map((r) => JSON.stringify(r.body));

  test('Cancel pressed by someone else is refused and says who may; pressed by the requester (twice) it stops the agent once, and the thread says who', async () => {
    const { request, status, jobId } = await startSlow(1);
    await running(jobId);
    expect(hasButton(status, ACTIONS.cancelJob)).toBe(true);
    expect(
      h.emu
        .messages({ channel })
        .find((m) => m.ts === request.ts)
        ?.reactions?.map((r) => r.name),
    ).toEqual(['eyes']);

    if (mode === 'http') {
      // A press that Slack did not sign (a forged request to /slack/events) is refused before anything reads it.
      const payload = JSON.stringify({
        type: 'block_actions',
        user: { id: 'U0ALICE', team_id: h.emu.teamId },
        team: { id: h.emu.teamId },
        api_app_id: h.emu.appId,
        token: 'x',
        trigger_id: '1.2.3',
        container: { type: 'message', channel_id: channel, message_ts: status.ts },
        channel: { id: channel },
        response_url: 'http://127.0.0.1:9/nowhere',
        actions: [{ type: 'button', action_id: ACTIONS.cancelJob, block_id: 'b', value: jobId, action_ts: '1.1' }],
      });
      const body = new URLSearchParams({ payload }).toString();
      const forged = await fetch(`http://127.0.0.1:${h.dispatcher?.port}/slack/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...signRequest('not-the-signing-secret', body) },
        body,
      });
      expect(forged.status).toBe(401);
    }

    const refused = await h.emu.blockAction({
      channel,
      user: 'U0MALLORY',
      message_ts: status.ts,
      thread_ts: request.ts,
      action_id: ACTIONS.cancelJob,
    });
    const refusal = await h.emu.waitFor(() => responsesTo(refused.response_url)[0], { what: 'the refusal' });
    expect(refusal).toContain('Only the requester or a project admin may cancel');
    expect(refusal).toContain('"response_type":"ephemeral"');
    expect((await h.containers(channel)).some((c) => c.State === 'running')).toBe(true);

    // A double click: two presses at once are handled once.
    const [first, second] = await Promise.all([
      h.emu.blockAction({ channel, user: 'U0ALICE', message_ts: status.ts, thread_ts: request.ts, action_id: ACTIONS.cancelJob }),
      h.emu.blockAction({ channel, user: 'U0ALICE', message_ts: status.ts, thread_ts: request.ts, action_id: ACTIONS.cancelJob }),
    ]);
    const done = await result(channel, request.ts, /was cancelled/);
    expect(blocksText(done)).toContain('was cancelled by <@U0ALICE>');
    expect(hasButton(done, ACTIONS.retryJob)).toBe(true);
    await eventually(async () => (await h.containers(channel)).length === 0, 'the agent container to be gone');
    expect(statusOf(channel, status.ts)?.text).toMatch(/cancelled by <@U0ALICE>/);
    expect(hasButton(statusOf(channel, status.ts), ACTIONS.cancelJob)).toBe(false);
    const answers = [...responsesTo(first.response_url), ...responsesTo(second.response_url)];
    expect(answers.filter((a) => a.includes('Cancelling'))).toHaveLength(1);
    // Every press was acknowledged within Slack's 3 seconds at the first attempt (no redelivery).
    const presses = h.emu.deliveries.filter((d) => d.kind === 'interactive');
    expect(presses.length).toBeGreaterThanOrEqual(3);
    expect(presses.filter((d) => d.attempt > 0 || d.outcome !== 'acked')).toEqual([]);
    await h.emu.waitFor(
      () =>
        h.emu
          .messages({ channel })
          .find((m) => m.ts === request.ts)
          ?.reactions?.some((r) => r.name === 'x'),
      { what: 'the ❌ reaction' },
    );

    // Cancelling again afterwards is harmless: it says so.
    await h.emu.userSays({ channel, user: 'U0ALICE', text: 'cancel', thread_ts: request.ts });
    await h.emu.waitFor(() => botReplies(h, channel, request.ts).find((m) => /nothing to cancel/.test(m.text ?? '')), {
      what: 'a "nothing to cancel" reply',
    });

    // Every press and command is in the audit trail.
    const audit = (await redis.xrange(keys(h.prefix).audit, '-', '+')).map(([, f]) => f.join(' '));
    expect(audit.some((e) => e.includes('user U0MALLORY') && e.includes('action job.cancel') && e.includes('outcome not-allowed'))).toBe(
      true,
    );
    expect(audit.some((e) => e.includes('user U0ALICE') && e.includes('action job.cancel') && e.includes('outcome cancel-requested'))).toBe(
      true,
    );
  });

  test('`stop` in the thread by a project admin cancels the job, and `list` shows the waiting job with its place', async () => {
    const { request, jobId } = await startSlow(2);
    await running(jobId);
    // The one agent slot is taken: another channel's job waits in the queue.
    const waiting = await startSlow(3, waitingChannel, 'U0BOB');
    expect(waiting.status.text).toMatch(/queued/);

    await h.emu.userSays({ channel, user: 'U0CAROL', text: 'list' });
    const list = await h.emu.waitFor(
      () => h.emu.messages({ channel }).find((m) => m.bot_id && /running.*queued/.test(m.text ?? '') && m.thread_ts !== request.ts),
      { what: 'the list' },
    );
    expect(blocksText(list)).toContain('slow #2');
    expect(blocksText(list)).toContain('1st in line');

    await h.emu.userSays({ channel, user: 'U0BOSS', text: 'stop', thread_ts: request.ts });
    const done = await result(channel, request.ts, /was cancelled/);
    expect(blocksText(done)).toContain('was cancelled by <@U0BOSS>');
    await eventually(async () => (await h.containers(channel)).length === 0, 'the agent container to be gone');

    // The waiting job now runs; cancel it too, from its channel.
    await h.emu.userSays({ channel: waitingChannel, user: 'U0BOB', text: 'cancel' });
    await result(waitingChannel, waiting.request.ts, /was cancelled by/);
  });

  test('a queued job cancelled by its button leaves the queue and frees its channel at once', async () => {
    const { request, jobId } = await startSlow(4);
    await running(jobId);
    const waiting = await startSlow(5, waitingChannel, 'U0BOB');
    expect(hasButton(waiting.status, ACTIONS.cancelJob)).toBe(true);

    const press = await h.emu.blockAction({
      channel: waitingChannel,
      user: 'U0BOB',
      message_ts: waiting.status.ts,
      thread_ts: waiting.request.ts,
      action_id: ACTIONS.cancelJob,
    });
    await h.emu.waitFor(() => responsesTo(press.response_url).find((r) => r.includes('before it started')), {
      what: 'the queued cancel answer',
    });
    const done = await result(waitingChannel, waiting.request.ts, /was cancelled/);
    expect(blocksText(done)).toContain('<@U0BOB>');
    // Nothing ever ran for it, and its channel takes a new request.
    expect((await h.containers(waitingChannel)).length).toBe(0);
    const next = await h.emu.userSays({ channel: waitingChannel, user: 'U0BOB', text: 'fix #6 in slow' });
    const accepted = await h.emu.waitFor(() => botReplies(h, waitingChannel, next.ts)[0], { what: 'the next status' });
    expect(accepted.text).not.toMatch(/busy/);

    await h.emu.userSays({ channel: waitingChannel, user: 'U0BOB', text: 'cancel', thread_ts: next.ts });
    await h.emu.userSays({ channel, user: 'U0ALICE', text: 'cancel', thread_ts: request.ts });
    await result(channel, request.ts, /was cancelled/);
    await result(waitingChannel, next.ts, /was cancelled/);
  });

  test('Retry on a failed result starts the same job again in a new thread that links the old one', async () => {
    const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #7 in broken' });
    const failed = await result(channel, request.ts, /failed/);
    expect(hasButton(failed, ACTIONS.retryJob)).toBe(true);

    const refused = await h.emu.blockAction({
      channel,
      user: 'U0MALLORY',
      message_ts: failed.ts,
      thread_ts: request.ts,
      action_id: ACTIONS.retryJob,
    });
    expect(await h.emu.waitFor(() => responsesTo(refused.response_url)[0], { what: 'the refusal' })).toContain(
      'Only the requester or a project admin may retry',
    );

    const before = new Set(h.emu.messages({ channel }).map((m) => m.ts));
    await h.emu.blockAction({ channel, user: 'U0ALICE', message_ts: failed.ts, thread_ts: request.ts, action_id: ACTIONS.retryJob });
    const retried = await h.emu.waitFor(
      () => h.emu.messages({ channel }).find((m) => !before.has(m.ts) && m.bot_id && !m.thread_ts && /broken #7/.test(m.text ?? '')),
      {
        what: "the new job's status message",
      },
    );
    expect(JSON.stringify(retried.blocks)).toContain(`/archives/${channel}/p${request.ts.replace('.', '')}`);
    await result(channel, retried.ts, /failed/);

    // `retry` said in the old thread works as well.
    const before2 = new Set(h.emu.messages({ channel }).map((m) => m.ts));
    await h.emu.userSays({ channel, user: 'U0ALICE', text: 'retry', thread_ts: request.ts });
    const again = await h.emu.waitFor(
      () => h.emu.messages({ channel }).find((m) => !before2.has(m.ts) && m.bot_id && !m.thread_ts && /broken #7/.test(m.text ?? '')),
      { what: 'the second retry' },
    );
    await result(channel, again.ts, /failed/);
    await eventually(async () => (await h.containers(channel)).length === 0, 'no agents left');
  });
});

describe('an agent that does not obey a cancel', () => {
  let h: Harness;
  let fixtures: FixtureImages;
  const channel = 'C0CTLDEAF';

  beforeAll(async () => {
    // It heartbeats for a few seconds and never reads its control stream: only the spawner can stop it.
    fixtures = await buildAgentFixtures(['going-silent']);
    h = await startHarness({
      mode: 'socket',
      projectsYaml: (workspace) => `projects:\n  deaf:\n    workspace: ${workspace}\n    agent: { command: ["true"] }\n`,
      agentImage: fixtures.tag('going-silent'),
      timings: { cancelGraceMs: 500, stopGraceSeconds: 1 },
    });
  });
  afterAll(async () => {
    await h?.stop();
    await fixtures?.remove();
  });

  test('is stopped by the spawner after the grace period, and the job ends cancelled, saying who', async () => {
    const request = await h.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #1 in deaf' });
    const status = await h.emu.waitFor(() => botReplies(h, channel, request.ts)[0], { what: 'the status message', timeoutMs: 15_000 });
    await h.emu.waitFor(() => /running/.test(h.emu.messages({ channel }).find((m) => m.ts === status.ts)?.text ?? ''), {
      what: 'the job to run',
      timeoutMs: 30_000,
    });
    await h.emu.blockAction({ channel, user: 'U0ALICE', message_ts: status.ts, thread_ts: request.ts, action_id: ACTIONS.cancelJob });
    const done = await h.emu.waitFor(() => botReplies(h, channel, request.ts).find((m, i) => i > 0 && /was cancelled/.test(m.text ?? '')), {
      what: 'the result',
      timeoutMs: 60_000,
    });
    expect(blocksText(done)).toContain('was cancelled by <@U0ALICE>');
    await eventually(async () => (await h.containers(channel)).length === 0, 'the container to be gone');
  });
});
