// Runs each job's agent as a Docker container, through the engine's socket.
// The container is named after the job, so Docker itself refuses a second
// container for the same job: a repeated start adopts the first one.
// Agents run hardened (agent-host-config.ts) on a network of their own.
// The engine may go away (a daemon restart, a dropped socket): an agent's exit
// is then learned from the engine when it answers again (container-exit.ts),
// never guessed; starts, attaches and stops retry for a while (ENGINE_WAIT).
// Over 350 lines: create, adopt, start and stop on one engine, each with its lost-connection cases; the exit watch is apart (container-exit.ts).
import { setMaxListeners } from 'node:events';
import Docker from 'dockerode';
import type { Logger } from '../../observability/logger.js';
import { identityFromLabels, MANAGED_SELECTOR } from '../../domain/agent-contract.js';
import { agentArgs, agentLabels, type AgentExit, type AgentHandle, type AgentInfo, type AgentSpec, type JobSpawner } from '../spawner.js';
import { dockerConnection } from './docker-connection.js';
import { agentHostConfig, rootUserProblem } from './agent-host-config.js';
import { ErrorCode, SwitchboardError } from '../../errors.js';
import { followExit, type ContainerLook, type WaitAnswer, type WaitCondition } from './container-exit.js';
import { retryWhileUnreachable } from '../../shared/retry.js';

export interface DockerSpawnerOptions {
  dockerHost: string;
  /** The agents' own network (DOCKER_NETWORK), created if missing; never host or none. */
  network: string;
  /** Container runtime for agents (AGENT_RUNTIME), e.g. runsc; unset: the engine's default. */
  runtime?: string;
  /** Timeout of each Docker call except the long wait for an agent's exit. */
  callTimeoutMs?: number;
  /** Timeout of the quick looks: ping, and the inspects that check on a running agent; default 5 s. */
  probeTimeoutMs?: number;
  /** How often a running agent's pending wait is checked with inspect; default 15 s. */
  exitCheckMs?: number;
  /**
   * How long start, attach and stop keep trying while the engine does not
   * answer, before they give up with a readable error; default 30 s.
   */
  engineWaitMs?: number;
  /** Back-off between tries while the engine does not answer; default 250 ms doubling to 5 s. */
  backoff?: { firstMs: number; maxMs: number };
  logger: Logger;
}

const DEFAULT_CALL_TIMEOUT_MS = 30_000;
const DEFAULT_PROBE_TIMEOUT_MS = 5_000;
const DEFAULT_EXIT_CHECK_MS = 15_000;
const DEFAULT_ENGINE_WAIT_MS = 30_000;
const DEFAULT_BACKOFF = { firstMs: 250, maxMs: 5_000 };

const containerName = (jobId: string) => `switchboard-job-${jobId}`;

interface DockerError {
  statusCode?: number;
  message?: string;
}
const statusOf = (err: unknown) => (err as DockerError).statusCode;

/**
 * A Docker call that settles within `ms`, whatever the connection does:
 * dockerode's calls never settle when the connection drops after the engine
 * sent its headers (its own timeout then destroys the request unheard).
 */
function within<T>(call: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`the Docker engine did not answer ${what} within ${ms} ms`), { code: 'ETIMEDOUT' })),
      ms,
    );
  });
  return Promise.race([call, late]).finally(() => clearTimeout(timer));
}

/** No HTTP answer at all (refused, reset, timed out, socket missing): the engine did not answer. */
const isUnreachable = (err: unknown) =>
  err instanceof SwitchboardError
    ? err.code === ErrorCode.DockerUnreachable
    : typeof err === 'object' && err !== null && statusOf(err) === undefined;

/** The operator's fix stays in the message (logs); the user only hears that the image is missing. */
function imageMissing(image: string, cause: unknown): SwitchboardError {
  return new SwitchboardError(
    ErrorCode.AgentImageMissing,
    `agent image ${image} is not on the Docker engine: build it (docker build --target agent -t ${image} .) or set AGENT_IMAGE`,
    {
      userText: 'the agent image is not installed on this Switchboard; whoever runs it will find the fix in its logs',
      operatorHint: `docker build --target agent -t ${image} .  (or set AGENT_IMAGE)`,
      cause,
    },
  );
}

export class DockerSpawner implements JobSpawner {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;
  /** Without a timeout: `wait` is a long poll that lasts as long as the agent. */
  private readonly waiter: Docker;
  /** Short timeout: a look that hangs means the engine is not there. */
  private readonly prober: Docker;
  private networkReady?: Promise<void>;
  /** Aborted by close(): exits being followed stay unknown, retries stop. */
  private readonly closing = new AbortController();

  constructor(private readonly options: DockerSpawnerOptions) {
    if (['host', 'none'].includes(options.network)) {
      throw new SwitchboardError(ErrorCode.ConfigInvalid, `agents may not use the ${options.network} network`, {
        operatorHint: 'set DOCKER_NETWORK to a network of their own, e.g. switchboard-agents',
      });
    }
    this.docker = new Docker({ ...dockerConnection(options.dockerHost), timeout: options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS });
    this.waiter = new Docker(dockerConnection(options.dockerHost));
    this.prober = new Docker({ ...dockerConnection(options.dockerHost), timeout: options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS });
    // One listener per agent followed: many agents are not a leak.
    setMaxListeners(0, this.closing.signal);
  }

  async ping(): Promise<void> {
    try {
      await within(this.prober.ping(), this.probeTimeoutMs, 'a ping');
    } catch (err) {
      throw this.unreachable(err);
    }
  }

  private get probeTimeoutMs(): number {
    return this.options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  }

  private unreachable(err: unknown, waitedMs?: number): Error {
    if (err instanceof SwitchboardError) return err;
    const waited = waitedMs ? ` (tried for ${Math.round(waitedMs / 1000)} s)` : '';
    return new SwitchboardError(
      ErrorCode.DockerUnreachable,
      `Docker engine at ${this.options.dockerHost} does not answer${waited}: ${(err as Error).message}`,
      {
        userText: waitedMs
          ? `the machine that runs agents did not answer for ${Math.round(waitedMs / 1000)} s; ask again in a minute`
          : 'the machine that runs agents does not answer right now',
        operatorHint: 'check that the Docker engine runs and that DOCKER_HOST points at its socket',
        cause: err,
      },
    );
  }

  /**
   * Runs `attempt` again, with back-off, while the engine does not answer, for
   * up to engineWaitMs (a daemon restart takes seconds). Safe for start, attach
   * and stop: the container's name makes a repeated create adopt the first one.
   */
  private async whileUnreachable<T>(
    what: string,
    log: Logger,
    attempt: () => Promise<T>,
    attemptMs = this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
  ): Promise<T> {
    return retryWhileUnreachable(() => within(attempt(), attemptMs, `to ${what}`), {
      peer: 'the Docker engine',
      what,
      log,
      backoff: this.options.backoff ?? DEFAULT_BACKOFF,
      budgetMs: this.options.engineWaitMs ?? DEFAULT_ENGINE_WAIT_MS,
      signal: this.closing.signal,
      // A hung attempt counts as no answer; repeating it is safe (see above).
      isUnreachable,
      giveUp: (err, waited) => this.unreachable(err instanceof SwitchboardError ? err.cause : err, waited),
    });
  }

  /** Creates the agents' network if it is missing (once per process; two replicas racing is fine). */
  ensureNetwork(): Promise<void> {
    this.networkReady ??= this.createNetworkIfMissing().catch((err: unknown) => {
      this.networkReady = undefined;
      throw err;
    });
    return this.networkReady;
  }

  private async createNetworkIfMissing(): Promise<void> {
    const name = this.options.network;
    try {
      await this.docker.getNetwork(name).inspect();
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { 'app.kubernetes.io/managed-by': 'switchboard' },
      });
      this.options.logger.info({ network: name }, "created the agents' network");
    } catch (err) {
      if (statusOf(err) !== 409) throw err; // another replica made it first
    }
  }

  /** Refuses images that would run the agent as root (an empty USER is root). */
  private async checkImageUser(image: string): Promise<void> {
    let info: Docker.ImageInspectInfo;
    try {
      info = await this.docker.getImage(image).inspect();
    } catch (err) {
      if (statusOf(err) === 404) throw imageMissing(image, err);
      throw err;
    }
    const problem = rootUserProblem(info.Config?.User);
    if (problem) {
      throw new SwitchboardError(ErrorCode.AgentImageRoot, `agent image ${image} ${problem}`, {
        userText: 'the agent image would run as root, which Switchboard refuses; whoever runs it will find the fix in its logs',
        operatorHint: "add a non-root USER to the agent image (the Dockerfile's agent target uses USER node)",
      });
    }
  }

  async start(spec: AgentSpec): Promise<AgentHandle> {
    const log = this.options.logger.child({ jobId: spec.jobId, container: containerName(spec.jobId) });
    return this.whileUnreachable('start the agent', log, () => this.startOnce(spec, log));
  }

  private async startOnce(spec: AgentSpec, log: Logger): Promise<AgentHandle> {
    const name = containerName(spec.jobId);
    try {
      await this.checkImageUser(spec.image);
      await this.ensureNetwork();
    } catch (err) {
      // No HTTP status at all: the engine itself did not answer.
      if (!(err instanceof SwitchboardError) && statusOf(err) === undefined) throw this.unreachable(err);
      throw err;
    }
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        name,
        Image: spec.image,
        Cmd: agentArgs(spec),
        // HOME on the writable /tmp: the root filesystem is read-only.
        Env: Object.entries({ HOME: '/tmp', ...spec.env }).map(([k, v]) => `${k}=${v}`),
        Labels: agentLabels(spec),
        HostConfig: agentHostConfig(spec, { network: this.options.network, runtime: this.options.runtime }),
      });
    } catch (err) {
      if (statusOf(err) === 409) {
        // The engine reserves the name before the other create is inspectable: look again briefly.
        for (let attempt = 0; attempt < 10; attempt++) {
          const adopted = await this.adopt(name, spec.jobId, log).catch((e: unknown) => {
            throw statusOf(e) === undefined ? this.unreachable(e) : e;
          });
          if (adopted) return adopted;
          await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
        }
        throw new SwitchboardError(ErrorCode.AgentStartFailed, `the container for job ${spec.jobId} vanished while being started`, {
          userText: 'the agent container vanished while being started; ask again',
          cause: err,
        });
      }
      if (statusOf(err) === 404) throw imageMissing(spec.image, err);
      if (statusOf(err) === undefined) throw this.unreachable(err);
      throw err;
    }
    // AutoRemove: ask for the exit before starting, or a quick agent is gone before we ask.
    const following = new AbortController();
    const exited = this.followExit(container.id, 'next-exit', log, following.signal);
    try {
      await container.start();
    } catch (err) {
      // 304: a parallel call (another replica, a redelivered entry) adopted our container and started it first: that is the agent.
      if (statusOf(err) === 304) {
        log.info({ containerId: container.id.slice(0, 12) }, 'agent container was started by another call: following it');
        return { jobId: spec.jobId, ref: container.id, adopted: false, exited };
      }
      following.abort();
      // The engine did not answer: the container stays (created, or started after all); the retry adopts it.
      if (statusOf(err) === undefined) throw this.unreachable(err);
      await this.removeIfNeverRan(container, log);
      throw new SwitchboardError(
        ErrorCode.AgentStartFailed,
        `the agent container for job ${spec.jobId} could not start: ${(err as Error).message}`,
        {
          userText: 'the agent container could not start; whoever runs Switchboard will find why in its logs',
          cause: err,
        },
      );
    }
    log.info({ containerId: container.id.slice(0, 12) }, 'agent container started');
    return { jobId: spec.jobId, ref: container.id, adopted: false, exited };
  }

  /**
   * Clean-up after a failed start: removes the container this call created
   * (by id, never by name) only if it never ran. One that runs or ran was
   * started by another call, and is that call's agent.
   */
  private async removeIfNeverRan(container: Docker.Container, log: Logger): Promise<void> {
    try {
      const info = await container.inspect();
      const ran = info.State.Running || info.State.Status !== 'created';
      if (ran)
        return void log.warn({ state: info.State.Status }, 'our start failed but the container runs (another call started it): left alone');
      await container.remove({ force: true, v: true });
    } catch (err) {
      if (statusOf(err) !== 404) log.warn({ err }, 'could not remove the container that failed to start');
    }
  }

  async attach(jobId: string): Promise<AgentHandle | undefined> {
    const name = containerName(jobId);
    const log = this.options.logger.child({ jobId, container: name });
    return this.whileUnreachable('look for the agent', log, () => this.adopt(name, jobId, log));
  }

  private async adopt(name: string, jobId: string, log: Logger): Promise<AgentHandle | undefined> {
    const container = this.docker.getContainer(name);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await container.inspect();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
    if (info.State.Status === 'created') {
      const following = new AbortController();
      const exited = this.followExit(info.Id, 'next-exit', log, following.signal);
      try {
        await container.start();
        log.info('agent container was created but not started: started it');
      } catch (err) {
        // 304: the other start() (a parallel call or another replica) got there first; that is the agent.
        if (statusOf(err) !== 304) {
          following.abort();
          throw err;
        }
      }
      return { jobId, ref: info.Id, adopted: true, exited };
    }
    log.info({ state: info.State.Status }, 'agent container already exists: adopting it');
    if (!info.State.Running) {
      return { jobId, ref: info.Id, adopted: true, exited: Promise.resolve({ exitCode: info.State.ExitCode }) };
    }
    return { jobId, ref: info.Id, adopted: true, exited: this.followExit(info.Id, 'not-running', log) };
  }

  /** The container's real exit: a lost wait is re-attached, never taken for an exit (container-exit.ts). */
  private followExit(containerId: string, condition: WaitCondition, log: Logger, abandon?: AbortSignal): Promise<AgentExit> {
    const follow = new AbortController();
    const stop = () => follow.abort();
    this.closing.signal.addEventListener('abort', stop, { once: true });
    abandon?.addEventListener('abort', stop, { once: true });
    const forget = () => this.closing.signal.removeEventListener('abort', stop);
    follow.signal.addEventListener('abort', forget, { once: true });
    const exited = followExit(
      {
        wait: (c, s) => this.waitStream(containerId, c, s),
        inspect: () =>
          within(this.prober.getContainer(containerId).inspect(), this.probeTimeoutMs, 'an inspect').then(
            (info): ContainerLook => ({
              status: info.State.Status,
              running: info.State.Running,
              exitCode: info.State.ExitCode,
              oomKilled: info.State.OOMKilled,
            }),
            (err: unknown): ContainerLook => {
              if (statusOf(err) === 404) return 'gone';
              throw err;
            },
          ),
      },
      {
        condition,
        checkEveryMs: this.options.exitCheckMs ?? DEFAULT_EXIT_CHECK_MS,
        backoff: this.options.backoff ?? DEFAULT_BACKOFF,
        signal: follow.signal,
        log,
      },
    );
    void exited.then(forget);
    return exited;
  }

  /**
   * Docker's wait as a stream, because dockerode's own `wait` never settles
   * when the connection drops after the engine sent its headers (it listens
   * for the response's end, not for its error): here a dropped connection
   * rejects at once, so the follower can ask the engine how the agent is.
   */
  private waitStream(containerId: string, condition: WaitCondition, signal: AbortSignal): Promise<WaitAnswer> {
    return new Promise((resolve, reject) => {
      this.waiter.modem.dial(
        {
          path: `/containers/${encodeURIComponent(containerId)}/wait?`,
          method: 'POST',
          isStream: true,
          abortSignal: signal,
          statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such container', 500: 'server error' },
          options: { condition },
        },
        (err, result) => {
          const res = result as NodeJS.ReadableStream | null | undefined;
          if (err || !res || typeof res.on !== 'function') return reject(err ?? new Error('the engine sent no wait stream'));
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString()) as WaitAnswer);
            } catch (e) {
              reject(new Error("the engine's wait answer was cut short", { cause: e }));
            }
          });
          res.on('error', reject);
          // After 'end' this is a no-op; before it, the connection dropped without an answer.
          res.on('close', () => reject(new Error('the connection to the engine closed while waiting for the agent')));
        },
      );
    });
  }

  async list(): Promise<AgentInfo[]> {
    let containers: Docker.ContainerInfo[];
    try {
      containers = await this.docker.listContainers({ all: true, filters: JSON.stringify({ label: [MANAGED_SELECTOR] }) });
    } catch (err) {
      throw this.unreachable(err);
    }
    return containers.map((c) => ({
      ...identityFromLabels(c.Labels),
      ref: c.Id,
      running: c.State === 'running',
    }));
  }

  async close(): Promise<void> {
    // Pending waits and retries end; the agents keep running (another replica adopts them).
    this.closing.abort();
  }

  async stop(jobId: string, graceSeconds: number): Promise<void> {
    const name = containerName(jobId);
    const attemptMs = (this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS) + graceSeconds * 1000;
    await this.whileUnreachable(
      'stop the agent',
      this.options.logger.child({ jobId, container: name }),
      async () => {
        try {
          await this.docker.getContainer(name).stop({ t: graceSeconds });
        } catch (err) {
          const status = statusOf(err);
          if (status !== 404 && status !== 304) throw err;
        }
      },
      attemptMs,
    );
  }
}
