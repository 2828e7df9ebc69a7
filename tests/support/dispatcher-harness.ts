// Starts a real dispatcher in this process against the Slack emulator, the
// test Redis and the real Docker engine, with its own key prefix and channel.
import Docker from 'dockerode';
import { mkdtempSync, mkdirSync, chmodSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config/env.js';
import { createLogger } from '../../src/observability/logger.js';
import { startDispatcher, type RunningDispatcher } from '../../src/dispatcher.js';
import type { SupervisorTimings } from '../../src/jobs/run/job-supervisor.js';
import { isJobId } from '../../src/domain/job-id.js';
import { SlackEmulator, type EmulatorOptions, type RecordedMessage } from './slack-emulator/index.js';
import { freePort } from './free-port.js';
import { eventually } from './eventually.js';
import { agentNetwork } from './agent-network.js';

export const AGENT_IMAGE = process.env.AGENT_IMAGE ?? 'switchboard-agent:latest';

/** One dispatcher replica of a harness; stop() is graceful (running jobs are handed over) and idempotent. */
export interface Replica {
  port: number;
  stop(): Promise<void>;
}

export interface Harness {
  emu: SlackEmulator;
  config: Config;
  docker: Docker;
  prefix: string;
  workspace: string;
  /** The project catalogue every replica reads. */
  projectsFile: string;
  /**
   * The environment the harness's replicas are configured from (loadConfig's
   * input; unset names omitted): what a dispatcher in another process needs.
   */
  env: Record<string, string>;
  /** The dispatcher the harness started with (none with `dispatcher: false`). */
  dispatcher?: Replica;
  /**
   * Starts another dispatcher replica sharing this harness's emulator, Redis
   * prefix, projects file and agent image (socket mode: it opens its own
   * Socket Mode connection; http mode: the emulator keeps delivering to the
   * first replica's URL). harness.stop() stops it too.
   */
  startReplica(): Promise<Replica>;
  /** Agent containers (running or not) of one channel. */
  containers(channel: string): Promise<Docker.ContainerInfo[]>;
  stop(): Promise<void>;
}

/** The bot's messages in one thread (the status message first). */
export const botReplies = (h: Pick<Harness, 'emu'>, channel: string, threadTs: string): RecordedMessage[] =>
  h.emu.messages({ channel, thread_ts: threadTs }).filter((m) => m.bot_id === h.emu.botId);

export async function assertAgentImage(docker: Docker, image: string = AGENT_IMAGE): Promise<void> {
  try {
    await docker.getImage(image).inspect();
  } catch {
    throw new Error(`the agent image ${image} is missing: build it first with  docker build --target agent -t ${image} .  (.ci/run does)`);
  }
}

export interface HarnessOptions {
  mode: 'socket' | 'http';
  projectsYaml: (workspace: string) => string;
  timings?: Partial<SupervisorTimings>;
  /** Image the dispatcher starts agents from (a failure fixture, say); default AGENT_IMAGE. */
  agentImage?: string;
  /** MAX_CONCURRENT_JOBS; default 2. */
  maxConcurrentJobs?: number;
  /** The replicas' supervisor clock (heartbeat grace, time limits); default Date.now. */
  now?: () => number;
  /** A Redis of the test's own (REDIS_URL and REDIS_AGENT_URL); default the run's shared one. */
  redis?: { url: string; agentUrl: string };
  /** false: start no dispatcher here (a test runs one elsewhere, in another process say); startReplica() still works. */
  dispatcher?: boolean;
  /** More environment for the replicas (SPAWNER_TYPE=kubernetes, say); overrides the harness's. */
  env?: Record<string, string>;
  /** How long a replica's stop() may take to hand its jobs back; default the dispatcher's (20 s). */
  stopDeadlineMs?: number;
  /** Options of the harness's Slack emulator (time scale, rate limits). */
  emulator?: EmulatorOptions;
}

export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const agentImage = opts.agentImage ?? AGENT_IMAGE;
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  await assertAgentImage(docker, agentImage);
  // WORKSPACE_ROOT, with the projects' workspace inside it.
  const workspaceRoot = mkdtempSync(join(tmpdir(), 'sb-e2e-root-'));
  const workspace = join(workspaceRoot, 'ws');
  mkdirSync(workspace);
  chmodSync(workspace, 0o777); // the agent runs as uid 1000
  const projectsFile = join(mkdtempSync(join(tmpdir(), 'sb-e2e-cfg-')), 'projects.yml');
  writeFileSync(projectsFile, opts.projectsYaml(workspace));
  const emu = await SlackEmulator.start(opts.emulator);
  const port = await freePort();
  const prefix = `sbtest:${randomBytes(4).toString('hex')}:`;
  const env = {
    SLACK_MODE: opts.mode,
    SLACK_BOT_TOKEN: emu.botToken,
    SLACK_APP_TOKEN: opts.mode === 'socket' ? emu.appToken : undefined,
    SLACK_SIGNING_SECRET: opts.mode === 'http' ? emu.signingSecret : undefined,
    SLACK_API_URL: emu.apiUrl,
    PORT: String(port),
    REDIS_URL: opts.redis?.url ?? process.env.REDIS_URL,
    // Agents reach the test Redis at its address on their own network (tests/support/global-setup.ts)...
    REDIS_AGENT_URL: opts.redis?.agentUrl ?? process.env.REDIS_AGENT_URL,
    REDIS_PREFIX: prefix,
    AGENT_IMAGE: agentImage,
    DOCKER_NETWORK: agentNetwork(),
    // ...and not the dispatcher's PORT, bound to loopback only.
    LISTEN_HOST: '127.0.0.1',
    WORKSPACE_ROOT: workspaceRoot,
    PROJECTS_FILE: projectsFile,
    MAX_CONCURRENT_JOBS: String(opts.maxConcurrentJobs ?? 2),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    ...opts.env,
  };
  const config = loadConfig(env);
  const replicas: Replica[] = [];
  const launch = async (replicaConfig: Config): Promise<Replica> => {
    const running: RunningDispatcher = await startDispatcher(replicaConfig, {
      logger: createLogger(replicaConfig.logLevel),
      timings: { statusIntervalMs: 250, readBlockMs: 500, exitWaitMs: 15_000, ...opts.timings },
      now: opts.now,
      ...(opts.stopDeadlineMs !== undefined ? { stopDeadlineMs: opts.stopDeadlineMs } : {}),
    });
    let stopping: Promise<void> | undefined;
    const replica: Replica = { port: replicaConfig.port, stop: () => (stopping ??= running.stop()) };
    replicas.push(replica);
    return replica;
  };
  const dispatcher = opts.dispatcher === false ? undefined : await launch(config);
  if (opts.mode === 'http') emu.setRequestUrl(`http://127.0.0.1:${port}/slack/events`);

  // Only this harness's agents: another test run on the same engine may use the same channel id.
  const own = new Redis(config.redis.url);
  const containers = async (channel: string) => {
    const listed = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`switchboard.channel=${channel}`, `app.kubernetes.io/managed-by=switchboard`] }),
    });
    const mine = await Promise.all(
      listed.map(async (c) => (await own.exists(`${prefix}job:${c.Labels['switchboard.job-id'] ?? ''}`)) === 1),
    );
    return listed.filter((_, i) => mine[i]);
  };

  return {
    emu,
    config,
    docker,
    prefix,
    workspace,
    projectsFile,
    env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
    ...(dispatcher ? { dispatcher } : {}),
    async startReplica() {
      return launch(loadConfig({ ...env, PORT: String(await freePort()) }));
    },
    containers,
    async stop() {
      // Every replica before the emulator: a Socket Mode client whose server vanishes tries to reconnect.
      for (const replica of replicas) await replica.stop();
      await emu.close();
      // Remove only this harness's agents: the jobs recorded under its own prefix.
      const redis = new Redis(config.redis.url);
      const stale = await redis.keys(`${prefix}*`);
      const jobIds = new Set(stale.map((k) => /^job:([^:]+)(?::|$)/.exec(k.slice(prefix.length))?.[1]).filter(isJobId));
      for (const id of jobIds) {
        await docker
          .getContainer(`switchboard-job-${id}`)
          .remove({ force: true })
          .catch(() => undefined);
        await redis.call('ACL', 'DELUSER', `job-${id}`).catch(() => undefined);
      }
      if (stale.length) await redis.del(...stale);
      await redis.quit();
      await own.quit();
      rmSync(workspaceRoot, { recursive: true, force: true });
      rmSync(dirname(projectsFile), { recursive: true, force: true });
    },
  };
}

/** Asserts the channel takes a new job (a status message, not a busy reply) of the failing `broken` project, and waits for it to end. */
export async function expectChannelFree(h: Harness, channel: string): Promise<void> {
  const next = await h.emu.userSays({ channel, user: 'U0CAROL', text: 'fix #9 in broken' });
  const accepted = await h.emu.waitFor(() => botReplies(h, channel, next.ts)[0], {
    what: 'a reply to the next request',
    timeoutMs: 15_000,
  });
  expect(accepted.text).toContain('broken #9');
  expect(accepted.text).not.toMatch(/busy/);
  await h.emu.waitFor(() => botReplies(h, channel, next.ts).find((m) => m.ts !== accepted.ts && /failed/.test(m.text ?? '')), {
    what: 'the next job to end',
    timeoutMs: 60_000,
  });
  await eventually(async () => (await h.containers(channel)).length === 0, 'no agent containers left');
}
