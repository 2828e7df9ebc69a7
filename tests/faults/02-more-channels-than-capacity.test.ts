// Drill 2: 200 channels ask for a job at the same moment, with
// MAX_CONCURRENT_JOBS=4 and two dispatcher replicas. Never more than 4 agents
// run at once (counted from Docker's own start/die events), and all 200 jobs
// finish, each with its result once. Slack's rate limits are lifted here (the
// emulator and the dispatcher's budgets): this drill is about capacity, not
// Slack (drill 10 is). Real time (no emulator time scale). The longest drill:
// 200 real agent containers on CI's two cores take about 2.5 minutes.
import { jest } from '@jest/globals';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { startHarness, type Harness } from '../support/dispatcher-harness.js';
import { expectAftermath, harnessJobs, watchAgentStarts, type AgentStarts } from './support/drill.js';

jest.setTimeout(300_000);

const CHANNELS = 200;
const CAP = 4;
const RUN = randomBytes(3).toString('hex').toUpperCase();
const channelOf = (i: number) => `C0CAP${RUN}X${i}`;
const UNLIMITED = 1_000_000;
const METHODS = ['chat.postMessage', 'chat.update', 'chat.getPermalink', 'conversations.info', 'users.info', 'reactions.add'];

// One project per channel, each with a workspace of its own (a workspace runs one job at a time), and a trivial agent.
const projects = (workspace: string) => {
  const lines = ['projects:'];
  for (let i = 0; i < CHANNELS; i += 1) {
    const dir = join(dirname(workspace), `w${i}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777); // the agent runs as uid 1000
    lines.push(
      `  p${i}:`,
      `    workspace: ${dir}`,
      `    channels: [${channelOf(i)}]`,
      '    agent:',
      '      command: ["sh", "-c", "echo ok"]',
    );
  }
  lines.push('  demo:', `    workspace: ${workspace}`, '    agent:', '      command: ["sh", "-c", "echo ok"]');
  return `${lines.join('\n')}\n`;
};

/** Most of this drill's agents running at once, from Docker's start and die events (other runs may share the engine). */
async function watchPeak(docker: Docker): Promise<{ peak(): number; stop(): void }> {
  const running = new Set<string>();
  let peak = 0;
  const stream = (await docker.getEvents({
    filters: JSON.stringify({ type: ['container'], event: ['start', 'die'], label: ['app.kubernetes.io/managed-by=switchboard'] }),
  })) as NodeJS.ReadableStream & { destroy(): void };
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines.filter((l) => l.trim())) {
      const e = JSON.parse(line) as { Action?: string; id?: string; Actor?: { Attributes?: Record<string, string> } };
      if (!e.id || !e.Actor?.Attributes?.['switchboard.channel']?.startsWith(`C0CAP${RUN}X`)) continue;
      if (e.Action === 'start') running.add(e.id);
      if (e.Action === 'die') running.delete(e.id);
      peak = Math.max(peak, running.size);
    }
  });
  stream.on('error', () => undefined);
  return { peak: () => peak, stop: () => stream.destroy() };
}

let h: Harness | undefined;
let starts: AgentStarts | undefined;
let peak: { peak(): number; stop(): void } | undefined;
let ports: number[] = [];

beforeAll(async () => {
  h = await startHarness({
    mode: 'socket',
    projectsYaml: projects,
    maxConcurrentJobs: CAP,
    emulator: { rateLimits: Object.fromEntries(METHODS.map((m) => [m, UNLIMITED])) },
    env: {
      SLACK_METHOD_BUDGETS: METHODS.filter((m) => m !== 'chat.postMessage')
        .map((m) => `${m}=${UNLIMITED}`)
        .join(','),
      SLACK_CHANNEL_POST_BUDGET: String(UNLIMITED),
    },
  });
  // A second replica: the cap is shared, not per replica.
  ports = [h.dispatcher?.port ?? 0, (await h.startReplica()).port];
});
afterAll(async () => {
  peak?.stop();
  await starts?.stop();
  await h?.stop();
});

test(`${CHANNELS} channels at once with MAX_CONCURRENT_JOBS=${CAP}: never more than ${CAP} agents, and all ${CHANNELS} finish`, async () => {
  const harness = h as Harness;
  expect(harness.emu.socketConnections()).toBe(2);
  starts = await watchAgentStarts(harness.docker);
  peak = await watchPeak(harness.docker);

  await Promise.all(
    Array.from({ length: CHANNELS }, (_, i) =>
      harness.emu.userSays({ channel: channelOf(i), user: 'U0ALICE', text: `fix #${i + 1} in p${i}` }),
    ),
  );

  // Every job done, its result once, no lock left, both replicas ready, and a new job completes.
  await expectAftermath(harness, { starts, told: /is done/, replicaPorts: ports, settleMs: 240_000 });
  const jobs = (await harnessJobs(harness)).filter((j) => j.channel.startsWith(`C0CAP${RUN}X`));
  expect(jobs).toHaveLength(CHANNELS);
  expect(jobs.filter((j) => j.state !== 'done').map((j) => `${j.channel}: ${j.state} ${j.reason ?? ''}`)).toEqual([]);
  expect(peak.peak()).toBeGreaterThan(1);
  expect(peak.peak()).toBeLessThanOrEqual(CAP);

  // The metrics saw it: every job's queue wait and spawn (the drill's and the after-check's), nothing left queued.
  const scrape = await Promise.all(ports.map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()));
  const total = (pattern: RegExp) => scrape.reduce((n, text) => n + Number(pattern.exec(text)?.[1] ?? 0), 0);
  expect(total(/^switchboard_queue_wait_seconds_count (\d+)$/m)).toBe(CHANNELS + 1);
  expect(total(/^switchboard_agent_spawn_seconds_count\{spawner="docker",outcome="ok"\} (\d+)$/m)).toBe(CHANNELS + 1);
  expect(scrape[0]).toMatch(/^switchboard_queue_depth 0$/m);
  expect(scrape[0]).toMatch(/^switchboard_jobs\{state="running"\} 0$/m);
});
