// DESIGN §1: replicas share nothing but Redis; any replica may receive any
// Slack event or relay any job's events, and a replica may stop at any moment.
// Two real dispatchers on one Slack emulator (Socket Mode), one Redis prefix
// and the real Docker engine: a replica that shuts down mid-job hands its
// running agent to the other, and a message seen by both starts one job.
import { jest } from '@jest/globals';
import type Docker from 'dockerode';
import { botReplies, expectChannelFree, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually, sleep } from '../support/eventually.js';
import { eventCallback } from '../support/slack-emulator/payloads.js';
import {
  DUPLICATE_WATCH_MS,
  doneMessages,
  versions,
  watchJobContainers as watchContainers,
  type ContainerWatch,
} from '../support/job-watch.js';
import type { RecordedMessage } from '../support/slack-emulator/index.js';
import { isJobId } from '../../src/domain/job-id.js';

jest.setTimeout(120_000);

// demo runs about 9 s and prints a line a second, so the status message has something new after a handover.
const projects = (workspace: string) => `
projects:
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'reading issue {issue}'; for i in 1 2 3 4 5 6 7 8; do echo \\"working $i of 8\\"; sleep 1; done; echo 'Opened https://github.com/acme/demo/pull/58'"]
  broken:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'error: 3 tests failed' >&2; exit 1"]
`;

const watches: ContainerWatch[] = [];

/** Watches a job's containers; afterEach stops the watch if a test failed. */
function watchJobContainers(docker: Docker, jobId: string): ContainerWatch {
  const watch = watchContainers(docker, jobId);
  watches.push(watch);
  return watch;
}

describe('dispatcher replicas sharing one Redis (socket mode)', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    for (const w of watches.splice(0)) await w.stop();
    await h?.stop();
    h = undefined;
  });

  test('a replica that shuts down mid-job hands the running agent to another replica; the job runs once and its result is posted once', async () => {
    h = await startHarness({ mode: 'socket', projectsYaml: projects });
    const harness = h;
    const channel = 'C0TAKEOVR';

    // Only replica A is up, so A takes the job and starts its agent.
    const request = await harness.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #58 in demo' });
    const first = await eventually(
      async () => (await harness.containers(channel)).find((c) => c.State === 'running'),
      'a running agent container',
    );
    const jobId = first.Labels['switchboard.job-id'] as string;
    expect(isJobId(jobId)).toBe(true);
    const watch = watchJobContainers(harness.docker, jobId);
    const status = await harness.emu.waitFor(
      () => botReplies(harness, channel, request.ts).find((m) => m.updates > 0 && /running/.test(m.text ?? '')),
      { what: 'the status message saying running', timeoutMs: 30_000 },
    );

    // Replica B comes up, then A shuts down gracefully: the agent must keep running for B.
    const replicaB = await harness.startReplica();
    await harness.dispatcher?.stop();
    const updatesAtHandover = (harness.emu.messages({ channel }).find((m) => m.ts === status.ts) as RecordedMessage).updates;
    const afterStop = await harness.docker.getContainer(first.Id).inspect();
    expect(afterStop.State.Running).toBe(true);

    // B relays the rest: the result arrives once, and the status message is updated while the agent still runs.
    const result = await harness.emu.waitFor(() => doneMessages(harness, channel, request.ts)[0], {
      what: 'the final result',
      timeoutMs: 60_000,
    });
    expect(result.text).toContain('https://github.com/acme/demo/pull/58');
    await sleep(DUPLICATE_WATCH_MS); // room for a second announcement, if one were coming
    expect(doneMessages(harness, channel, request.ts)).toHaveLength(1);

    const finalStatus = harness.emu.messages({ channel }).find((m) => m.ts === status.ts) as RecordedMessage;
    expect(finalStatus.text).toMatch(/done in/);
    const sinceHandover = versions(finalStatus).slice(updatesAtHandover + 1);
    expect(sinceHandover.some((v) => /running/.test(v.text ?? '') && /working \d of 8/.test(JSON.stringify(v.blocks)))).toBe(true);
    // Exactly one status message in the thread: B did not post a second one.
    expect(
      botReplies(harness, channel, request.ts).filter((m) => /demo #58/.test(m.text ?? '') && !/is done/.test(m.text ?? '')),
    ).toHaveLength(1);

    // The agent is gone, and it was the one and only container this job ever had.
    await eventually(async () => (await harness.containers(channel)).length === 0, 'the agent container to be removed');
    await watch.stop();
    expect([...watch.ids]).toEqual([first.Id]);

    await expectChannelFree(harness, channel);
    await replicaB.stop();
  });

  test('two replicas receiving the same Slack message start one job', async () => {
    h = await startHarness({ mode: 'socket', projectsYaml: projects });
    const harness = h;
    const channel = 'C0TWOREPL';
    await harness.startReplica();
    expect(harness.emu.socketConnections()).toBe(2);

    // The emulator hands envelopes out round robin, so the redelivery goes to the other replica.
    const request = await harness.emu.userSays({ channel, user: 'U0ALICE', text: 'fix #60 in demo' });
    const event = {
      type: 'message',
      user: 'U0ALICE',
      text: 'fix #60 in demo',
      ts: request.ts,
      channel,
      event_ts: request.ts,
      team: harness.emu.teamId,
      channel_type: 'channel',
    };
    const identity = {
      teamId: harness.emu.teamId,
      teamDomain: 'emulated',
      appId: harness.emu.appId,
      botUserId: harness.emu.botUserId,
      verificationToken: 'emulated-verification-token',
    };
    await harness.emu.deliverRaw(eventCallback(identity, event, request.event_id), { retryNum: 1 });
    expect(harness.emu.deliveries.filter((d) => d.kind === 'events_api' && d.outcome === 'acked')).toHaveLength(2);

    const status = await harness.emu.waitFor(() => botReplies(harness, channel, request.ts)[0], {
      what: 'the status message',
      timeoutMs: 15_000,
    });
    expect(status.text).toContain('demo #60');
    const first = await eventually(
      async () => (await harness.containers(channel)).find((c) => c.State === 'running'),
      'a running agent container',
    );
    const watch = watchJobContainers(harness.docker, first.Labels['switchboard.job-id'] as string);
    await sleep(DUPLICATE_WATCH_MS); // room for a second reply or container, if one were coming
    expect(botReplies(harness, channel, request.ts)).toHaveLength(1);
    expect(await harness.containers(channel)).toHaveLength(1);

    await harness.emu.waitFor(() => doneMessages(harness, channel, request.ts)[0], { what: 'the final result', timeoutMs: 60_000 });
    await eventually(async () => (await harness.containers(channel)).length === 0, 'the agent container to be removed');
    await watch.stop();
    expect([...watch.ids]).toEqual([first.Id]);
    // The status message and the result, nothing else (no busy reply to the redelivery).
    expect(botReplies(harness, channel, request.ts).map((m) => m.ts === status.ts || /is done/.test(m.text ?? ''))).toEqual([true, true]);
  });
});
