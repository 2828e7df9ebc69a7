import { jest } from '@jest/globals';
import { Metrics } from '../../../../src/observability/metrics.js';
import { timedSpawner } from '../../../../src/spawners/spawn-timing.js';
import { measureRelayLag, xaddTimeOf } from '../../../../src/jobs/run/relay-lag.js';
import type { JobNotifier } from '../../../../src/jobs/ports.js';
import type { JobSpawner } from '../../../../src/spawners/spawner.js';
import { jobLogger } from '../../../../src/observability/logger.js';
import { aJob } from '../../../support/jobs.js';

const histogram = async (metrics: Metrics, name: string) => (await metrics.registry.getSingleMetricAsString(name)).split('\n');

test('a stream id carries its XADD time', () => {
  expect(xaddTimeOf('1700000000123-4')).toBe(1700000000123);
  expect(xaddTimeOf('0')).toBeUndefined();
});

test("relay lag: measured from the shown event's XADD to the chat call, once per new event; other calls pass through", async () => {
  const metrics = new Metrics();
  const notifier = {
    postStatus: jest.fn(async () => 'ts1'),
    updateStatus: jest.fn(async () => undefined),
    postResult: jest.fn(async () => undefined),
    threadLink: jest.fn(async () => 'https://x'),
  };
  const measured = measureRelayLag(notifier as JobNotifier & { threadLink(): Promise<string> }, metrics, () => 1_700_000_002_000);
  const job = aJob({ cursor: '1700000000000-0' });
  await measured.updateStatus(job);
  await measured.updateStatus({ ...job, cancelRequestedBy: 'U1' }); // nothing new from the agent: not a relay
  await measured.postResult({ ...job, state: 'done', cursor: '1700000001500-0' });
  expect(await measured.threadLink()).toBe('https://x');
  expect(notifier.updateStatus).toHaveBeenCalledTimes(2);
  const lines = await histogram(metrics, 'switchboard_relay_lag_seconds');
  expect(lines).toContain('switchboard_relay_lag_seconds_count{kind="status"} 1');
  expect(lines).toContain('switchboard_relay_lag_seconds_sum{kind="status"} 2');
  expect(lines).toContain('switchboard_relay_lag_seconds_sum{kind="result"} 0.5');
});

test('spawn latency: every start is timed, by outcome; the rest of the spawner is itself', async () => {
  const metrics = new Metrics();
  let fail = false;
  const spawner = {
    kind: 'docker' as const,
    start: jest.fn(async () => {
      if (fail) throw new Error('no engine');
      return { jobId: 'j', ref: 'c', adopted: false, exited: new Promise(() => undefined) };
    }),
    ping: jest.fn(async function (this: unknown) {
      return this === spawner ? undefined : Promise.reject(new Error('unbound'));
    }),
  };
  const timed = timedSpawner(spawner as unknown as JobSpawner, metrics);
  await timed.start({} as never);
  fail = true;
  await expect(timed.start({} as never)).rejects.toThrow('no engine');
  await timed.ping();
  expect(timed.kind).toBe('docker');
  const lines = await histogram(metrics, 'switchboard_agent_spawn_seconds');
  expect(lines).toContain('switchboard_agent_spawn_seconds_count{spawner="docker",outcome="ok"} 1');
  expect(lines).toContain('switchboard_agent_spawn_seconds_count{spawner="docker",outcome="error"} 1');
});

test('jobs by state and queue depth are read at scrape time', async () => {
  const metrics = new Metrics();
  metrics.watchJobs(
    async () => ({ queued: 3, running: 2 }),
    async () => 3,
  );
  const text = await metrics.registry.metrics();
  expect(text).toMatch(/^switchboard_jobs\{state="queued"\} 3$/m);
  expect(text).toMatch(/^switchboard_jobs\{state="starting"\} 0$/m);
  expect(text).toMatch(/^switchboard_jobs\{state="running"\} 2$/m);
  expect(text).toMatch(/^switchboard_queue_depth 3$/m);
});

test("a job's logger carries its id and the Slack event id that asked for it", () => {
  const lines: string[] = [];
  const child = jest.fn((bindings: object) => (lines.push(JSON.stringify(bindings)), undefined));
  jobLogger({ child } as never, { id: 'a1b2c3d4e5f6', requestRef: 'Ev0123' });
  expect(lines).toEqual(['{"jobId":"a1b2c3d4e5f6","ref":"Ev0123"}']);
});
