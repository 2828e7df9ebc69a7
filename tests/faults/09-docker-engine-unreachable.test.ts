// Drill 9 (issue 11): the Docker engine becomes unreachable and comes back
// while jobs run. The dispatcher (a real OS process; real time, not scaled)
// reaches the engine through the drills' proxy on a unix socket (its
// DOCKER_HOST); the test cuts the proxy — every connection, the agents' `wait`
// streams included, is dropped and new ones are refused — and restores it.
// CI's only engine is never restarted. The agents talk to Redis, not Docker,
// so their jobs go on: a lost wait must not pass for an exit (the channel
// would be freed while the agent runs), a job asked for meanwhile waits for
// the engine, and every result arrives once.
import { jest } from '@jest/globals';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { botReplies, startHarness, type Harness } from '../support/dispatcher-harness.js';
import { eventually } from '../support/eventually.js';
import { dumpOutput, ensureDispatcherBuild, type ReplicaProcess, spawnConnectedReplicas } from '../support/replica-process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { expectAftermath, harnessJobs, watchAgentStarts, type AgentStarts } from './support/drill.js';

jest.setTimeout(120_000);

const FINISH = '.finish-now';
// One workspace per project, so the three jobs run side by side; each works until the test drops FINISH into it.
const LANES = ['one', 'two', 'three'] as const;
type Lane = (typeof LANES)[number];
const channelOf = (lane: Lane) => `C0DRILL9${lane.toUpperCase()}`;
let root = '';
const projects = (workspace: string) => {
  root = dirname(workspace);
  const lanes = LANES.map((lane) => {
    const dir = join(root, lane);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777); // the agent runs as uid 1000
    return `
  ${lane}:
    workspace: ${dir}
    agent:
      command: ["sh", "-c", "echo 'reading issue {issue}'; while [ ! -e /workspace/${FINISH} ]; do echo 'working'; sleep 1; done; echo 'Opened https://github.com/acme/${lane}/pull/9'"]`;
  });
  return `
projects:${lanes.join('')}
  demo:
    workspace: ${workspace}
    agent:
      command: ["sh", "-c", "echo 'reading issue {issue}'; echo 'Opened https://github.com/acme/demo/pull/1'"]
`;
};
const finish = (lane: Lane) => writeFileSync(join(root, lane, FINISH), 'now\n');

let h: Harness | undefined;
let proxy: TcpProxy | undefined;
let replica: ReplicaProcess | undefined;
let starts: AgentStarts | undefined;
let passed = false;
const socketPath = join(tmpdir(), `sb-drill9-docker-${randomBytes(3).toString('hex')}.sock`);

beforeAll(async () => {
  await ensureDispatcherBuild();
  h = await startHarness({ mode: 'socket', projectsYaml: projects, dispatcher: false, maxConcurrentJobs: 4 });
  proxy = await startTcpProxy({ listen: { path: socketPath }, target: { path: '/var/run/docker.sock' } });
  [replica] = await spawnConnectedReplicas(h, 1, { env: { DOCKER_HOST: `unix://${socketPath}` } });
});

afterAll(async () => {
  await starts?.stop();
  if (replica && !passed) dumpOutput('drill 9 replica', replica);
  await replica?.kill('SIGTERM');
  await proxy?.close();
  await h?.stop();
});

/** The replica has logged a line whose msg matches (it logs as pino JSON). */
const logged = (msg: RegExp) =>
  eventually(async () => replica!.logLines().find((l) => msg.test(String(l.msg))), `the replica to log ${msg}`, 30_000);

test('drill 9: the Docker engine unreachable and back while jobs run — no job failed or freed for a lost wait, a job asked for meanwhile starts once the engine is back, every result once', async () => {
  const harness = h!;
  const cut = proxy!;
  const rep = replica!;
  starts = await watchAgentStarts(harness.docker);
  const ask = (lane: Lane) => harness.emu.userSays({ channel: channelOf(lane), user: 'U0ALICE', text: `fix #9 in ${lane}` });
  const atWork = (lane: Lane, ts: string) =>
    harness.emu.waitFor(
      () => botReplies(harness, channelOf(lane), ts).find((m) => m.updates > 0 && /working/.test(JSON.stringify(m.blocks ?? m.text))),
      {
        what: `the ${lane} job at work`,
        timeoutMs: 30_000,
      },
    );
  const doneIn = (lane: Lane, ts: string) =>
    harness.emu.waitFor(() => botReplies(harness, channelOf(lane), ts).find((m) => new RegExp(`^${lane} #9 is done`).test(m.text ?? '')), {
      what: `the ${lane} job's result`,
      timeoutMs: 30_000,
    });

  // Two jobs at work.
  const one = await ask('one');
  const two = await ask('two');
  await Promise.all([atWork('one', one.ts), atWork('two', two.ts)]);

  // The engine goes away.
  cut.cut('reset');
  await eventually(async () => {
    const r = await rep.readyz();
    return r.status === 503 && /spawner \(docker\): Docker engine at \S+ does not answer/.test(r.body) && r;
  }, '/readyz to say the Docker engine does not answer');

  // A job asked for now waits for the engine (its start is retried), rather than failing at once.
  const three = await ask('three');

  // A job can still finish: its agent reports through Redis.
  finish('one');
  await doneIn('one', one.ts);
  // The other one runs on: not failed for its lost wait, its channel still held.
  const redis = new Redis(harness.config.redis.url);
  try {
    const jobs = await harnessJobs(harness);
    expect(jobs.find((j) => j.channel === channelOf('two'))).toMatchObject({ state: 'running' });
    expect(await redis.exists(`${harness.prefix}lock:channel:${channelOf('two')}`)).toBe(1);
  } finally {
    redis.disconnect();
  }
  await logged(/lost the wait on the agent container/);
  await logged(/the Docker engine does not answer: asking again with back-off/);
  await logged(/the Docker engine does not answer: will try to start the agent again/);

  // The engine comes back: ready again, the waiting job starts, the running one is followed again.
  cut.restore();
  await rep.ready();
  await atWork('three', three.ts);
  await logged(/re-attached to the agent container: it still runs/);

  finish('two');
  finish('three');
  await Promise.all([doneIn('two', two.ts), doneIn('three', three.ts)]);

  await expectAftermath(harness, { starts, told: /^\S+ #9 is done/, affected: (job) => job.project !== 'demo', replicaPorts: [rep.port] });
  passed = true;
});
