// Dispatch overhead: from a `fix` request reaching Switchboard to its agent
// container running, against a bare dockerode create + start of the same
// image, on the real Docker engine. "Running" is the engine's own `start`
// event (its timestamp), for both.
//
// Ours: a dispatcher in its own process (SLACK_MODE=http, the real Docker
// spawner) gets `fix #k in demo<k>` in a fresh channel; the clock starts just
// before the emulator POSTs the event. Every job then runs its (trivial) agent
// to the end before the next sample, so samples do not overlap. Each sample
// has a project (and workspace) of its own, so no job waits for another's
// workspace. Baseline: createContainer({ Image }) + start(), default network,
// nothing else. The two alternate, one sample each in turn.
//
// The bench makes its own agents' network and a Redis that also listens on
// that network's gateway (agents must reach it), and removes both.
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlackEmulator } from '../tests/support/slack-emulator/index.js';
import { agentHostConfig } from '../src/spawners/docker/agent-host-config.js';
import { BenchChild, epochMs, httpDispatcherEnv, freePort, median, percentile, startRedis, type Row } from './support.js';

const SAMPLES = Number(process.env.BENCH_DISPATCH_SAMPLES ?? 10);
const WARMUP = 1;
export const DISPATCH_TARGET_MS = 50;
const AGENT_IMAGE = process.env.BENCH_AGENT_IMAGE ?? process.env.AGENT_IMAGE ?? 'switchboard-agent:latest';

interface DockerEvent {
  Action?: string;
  status?: string;
  id?: string;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** Container events of the engine, by container name, as they come. */
class EngineEvents {
  private readonly seen: DockerEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private stream?: NodeJS.ReadableStream & { destroy?: () => void };

  static async open(docker: Docker): Promise<EngineEvents> {
    const e = new EngineEvents();
    e.stream = (await docker.getEvents({
      filters: JSON.stringify({ type: ['container'], event: ['create', 'start', 'die'] }),
    })) as NodeJS.ReadableStream & { destroy?: () => void };
    let buf = '';
    e.stream.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) e.seen.push(JSON.parse(line) as DockerEvent);
      }
      for (const w of e.waiters) w();
    });
    return e;
  }

  /** The engine's time (ms since the epoch) of `action` for the container named `name`. */
  async at(name: string, action: string, timeoutMs = 60_000): Promise<number> {
    const find = () => this.seen.find((ev) => (ev.Action ?? ev.status) === action && ev.Actor?.Attributes?.name === name);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ev = find();
      if (ev?.timeNano) return ev.timeNano / 1e6;
      if (Date.now() > deadline) throw new Error(`dispatch: no ${action} event for container ${name} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const w = () => {
          this.waiters.delete(w);
          resolve();
        };
        this.waiters.add(w);
        setTimeout(w, 250);
      });
    }
  }

  /** The name of the container created with this label value. */
  nameOf(label: string, value: string): string | undefined {
    return this.seen.find((ev) => ev.Actor?.Attributes?.[label] === value)?.Actor?.Attributes?.name;
  }

  close(): void {
    this.stream?.destroy?.();
  }
}

async function agentNetwork(docker: Docker, name: string): Promise<string> {
  await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { 'switchboard.bench': 'dispatch' } });
  const info = (await docker.getNetwork(name).inspect()) as { IPAM?: { Config?: { Gateway?: string }[] } };
  const gateway = info.IPAM?.Config?.[0]?.Gateway;
  if (!gateway) throw new Error(`network ${name} has no IPv4 gateway`);
  return gateway;
}

export async function benchDispatchOverhead(): Promise<Row[]> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  await docker
    .getImage(AGENT_IMAGE)
    .inspect()
    .catch(() => {
      throw new Error(
        `dispatch: the agent image ${AGENT_IMAGE} is missing: docker build --target agent -t ${AGENT_IMAGE} .  (or set BENCH_AGENT_IMAGE)`,
      );
    });
  const run = randomBytes(3).toString('hex');
  const network = `sbbench-agents-${run}`;
  const gateway = await agentNetwork(docker, network);
  const redis = await startRedis({ ownServer: true, alsoBind: gateway });
  const emu = await SlackEmulator.start();
  const events = await EngineEvents.open(docker);
  const root = mkdtempSync(join(tmpdir(), 'sb-bench-dispatch-'));
  const total = WARMUP + SAMPLES;
  const projects = Array.from({ length: total }, (_, k) => {
    const ws = join(root, `ws${k}`);
    mkdirSync(ws);
    chmodSync(ws, 0o777); // the agent runs as uid 1000
    return `  demo${k}:\n    workspace: ${ws}\n    agent:\n      command: ["sh", "-c", "echo done"]\n`;
  });
  const projectsFile = join(root, 'projects.yml');
  writeFileSync(projectsFile, `projects:\n${projects.join('')}`);
  const port = await freePort();
  let dispatcher: BenchChild | undefined;
  const bareNames: string[] = [];
  try {
    dispatcher = (
      await BenchChild.start(new URL('./dispatcher-process.js', import.meta.url), 'switchboard (docker)', {
        ...httpDispatcherEnv(emu, { port, redisUrl: redis.url, prefix: 'sbbench:', projectsFile, maxConcurrentJobs: 2 }),
        REDIS_AGENT_URL: `redis://${gateway}:${new URL(redis.url).port}`,
        AGENT_IMAGE,
        DOCKER_NETWORK: network,
        WORKSPACE_ROOT: root,
      })
    ).child;
    emu.setRequestUrl(`http://127.0.0.1:${port}/slack/events`);

    const ours: number[] = [];
    const bare: number[] = [];
    const confined: number[] = [];
    const phases = {
      status: [] as number[],
      create: [] as number[],
      start: [] as number[],
      bareCreate: [] as number[],
      bareStart: [] as number[],
    };
    for (let k = 0; k < total; k++) {
      // Ours: the request → the agent's container running.
      const channel = `C0DSP${run.toUpperCase()}${k}`;
      const t0 = epochMs();
      const req = await emu.userSays({ channel, user: 'U0ALICE', text: `fix #${k + 1} in demo${k}` });
      const name = await (async () => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const n = events.nameOf('switchboard.channel', channel);
          if (n) return n;
          if (Date.now() > deadline) throw new Error(`dispatch: no agent container for ${channel}: ${emu.dump('no container')}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const started = await events.at(name, 'start');
      const created = await events.at(name, 'create');
      // The job runs to its end before the next sample.
      await emu.waitFor(
        () => emu.messages({ channel, thread_ts: req.ts }).find((m) => m.bot_id && m.ts !== req.ts && /is done|failed/.test(m.text ?? '')),
        {
          what: `the result of job ${k}`,
          timeoutMs: 90_000,
        },
      );
      if (process.env.BENCH_VERBOSE === '1') {
        const after = emu.calls.filter((c) => c.at >= t0 - 1 && c.at <= started + 5).map((c) => `${c.method}@${(c.at - t0).toFixed(0)}`);
        console.error(
          `dispatch sample ${k}: created @${(created - t0).toFixed(0)} running @${(started - t0).toFixed(0)} calls ${after.join(' ')}`,
        );
      }
      const statusAt = emu.calls.find((c) => c.method === 'chat.postMessage' && c.args.channel === channel)?.at ?? NaN;

      // Baseline: create + start of the same image.
      const bareName = `sbbench-bare-${run}-${k}`;
      const b0 = epochMs();
      const container = await docker.createContainer({ Image: AGENT_IMAGE, name: bareName, Labels: { 'switchboard.bench': 'dispatch' } });
      bareNames.push(bareName);
      await container.start();
      const bareStarted = await events.at(bareName, 'start');
      const bareCreated = await events.at(bareName, 'create');
      await container.remove({ force: true }).catch(() => undefined);

      // Information: the same create + start with the confinement Switchboard asks for (its network, limits, mounts).
      const hardName = `sbbench-hard-${run}-${k}`;
      const h0 = epochMs();
      const hardened = await docker.createContainer({
        Image: AGENT_IMAGE,
        name: hardName,
        Labels: { 'switchboard.bench': 'dispatch' },
        HostConfig: {
          ...agentHostConfig({ resources: { cpus: 2, memoryBytes: 4 * 1024 ** 3 }, workspace: join(root, `ws${k}`) }, { network }),
          AutoRemove: false,
        },
      });
      bareNames.push(hardName);
      await hardened.start();
      const hardStarted = await events.at(hardName, 'start');
      await hardened.remove({ force: true }).catch(() => undefined);

      if (k < WARMUP) continue;
      confined.push(hardStarted - h0);
      ours.push(started - t0);
      bare.push(bareStarted - b0);
      phases.status.push(statusAt - t0);
      phases.create.push(created - t0);
      phases.start.push(started - created);
      phases.bareCreate.push(bareCreated - b0);
      phases.bareStart.push(bareStarted - bareCreated);
    }
    const o = median(ours);
    const b = median(bare);
    const c = median(confined);
    const fmt = (xs: number[]) => `[${xs.map((x) => x.toFixed(0)).join(', ')}]`;
    return [
      {
        bench: 'dispatch',
        metric: 'request → agent running, p50',
        ours: o,
        baseline: b,
        unit: 'ms',
        ratio: o / b,
        target: `+≤ ${DISPATCH_TARGET_MS} ms`,
        pass: o - b <= DISPATCH_TARGET_MS,
        note: `${SAMPLES} samples each (interleaved), image ${AGENT_IMAGE}; added at p50 ${(o - b).toFixed(0)} ms; p90 ${percentile(ours, 90).toFixed(0)} vs ${percentile(bare, 90).toFixed(0)} ms; ours ${fmt(ours)} bare ${fmt(bare)} ms; ours' phases (p50): status message posted ${median(phases.status).toFixed(0)} ms, container created ${median(phases.create).toFixed(0)} ms, created → running ${median(phases.start).toFixed(0)} ms; bare: created ${median(phases.bareCreate).toFixed(0)} ms after the call, created → running ${median(phases.bareStart).toFixed(0)} ms`,
      },
      {
        bench: 'dispatch',
        metric: 'same, vs create+start with our confinement',
        ours: o,
        baseline: c,
        unit: 'ms',
        ratio: o / c,
        note: `information: the baseline here is create + start with agentHostConfig (agents' network, limits, read-only root, tmpfs, bind mount, init): Switchboard's own code adds ${(o - c).toFixed(0)} ms at p50, the confinement ${(c - b).toFixed(0)} ms; confined runs ${fmt(confined)} ms`,
      },
      {
        bench: 'dispatch',
        metric: 'request → container created, p50',
        ours: median(phases.create),
        baseline: median(phases.bareCreate),
        unit: 'ms',
        ratio: median(phases.create) / median(phases.bareCreate),
        note: `information: until the engine's create event, free of the engine's start time (the noisiest part): Switchboard's own steps (ack, parse, channel lock, job record, status message, queue, supervisor, agent's Redis user, thread link and names from Slack, image check) add ${(median(phases.create) - median(phases.bareCreate)).toFixed(0)} ms at p50`,
      },
      {
        bench: 'dispatch',
        metric: 'created → running, p50',
        ours: median(phases.start),
        baseline: median(phases.bareStart),
        unit: 'ms',
        ratio: median(phases.start) / median(phases.bareStart),
        note: 'information: the engine alone, after create; ours is started with the confinement above and a wait for its exit asked just before start',
      },
    ];
  } finally {
    await dispatcher?.stop();
    events.close();
    await emu.close();
    for (const n of bareNames)
      await docker
        .getContainer(n)
        .remove({ force: true })
        .catch(() => undefined);
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ network: [network] }) });
    for (const c of left)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
