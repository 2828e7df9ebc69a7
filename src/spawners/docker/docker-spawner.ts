// Runs each job's agent as a Docker container, through the engine's socket.
// The container is named after the job, so Docker itself refuses a second
// container for the same job: a repeated start adopts the first one.
import Docker from 'dockerode';
import { hostname } from 'node:os';
import type { Logger } from '../../observability/logger.js';
import { agentArgs, agentLabels, type AgentExit, type AgentHandle, type AgentSpec, type JobSpawner } from '../spawner.js';
import { dockerConnection } from './docker-connection.js';
import { ErrorCode, SwitchboardError } from '../../errors.js';

export interface DockerSpawnerOptions {
  dockerHost: string;
  /** Network for agents; unset: the dispatcher's own container network, else `bridge`. */
  network?: string;
  logger: Logger;
}

const containerName = (jobId: string) => `switchboard-job-${jobId}`;

interface DockerError {
  statusCode?: number;
  message?: string;
}
const statusOf = (err: unknown) => (err as DockerError).statusCode;

export class DockerSpawner implements JobSpawner {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;
  private network?: string;

  constructor(private readonly options: DockerSpawnerOptions) {
    this.docker = new Docker(dockerConnection(options.dockerHost));
    this.network = options.network;
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new SwitchboardError(ErrorCode.DockerUnreachable, `Docker engine at ${this.options.dockerHost} does not answer: ${(err as Error).message}`, {
        userText: 'the machine that runs agents does not answer right now',
        operatorHint: 'check that the Docker engine runs and that DOCKER_HOST points at its socket',
        cause: err,
      });
    }
  }

  /** The network agents join: configured, else the one this dispatcher's container is on, else bridge. */
  async agentNetwork(): Promise<string> {
    if (this.network) return this.network;
    try {
      const self = await this.docker.getContainer(hostname()).inspect();
      this.network = Object.keys(self.NetworkSettings.Networks ?? {})[0] ?? 'bridge';
    } catch {
      this.network = 'bridge'; // not running in a container
    }
    return this.network;
  }

  async start(spec: AgentSpec): Promise<AgentHandle> {
    const name = containerName(spec.jobId);
    const log = this.options.logger.child({ jobId: spec.jobId, container: name });
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        name,
        Image: spec.image,
        Cmd: agentArgs(spec),
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        Labels: agentLabels(spec),
        HostConfig: {
          AutoRemove: true,
          NetworkMode: await this.agentNetwork(),
          NanoCpus: Math.round(spec.resources.cpus * 1e9),
          Memory: spec.resources.memoryBytes,
          Binds: spec.workspace ? [`${spec.workspace}:/workspace`] : undefined,
        },
      });
    } catch (err) {
      if (statusOf(err) === 409) {
        const adopted = await this.adopt(name, spec.jobId, log);
        if (adopted) return adopted;
        throw new SwitchboardError(ErrorCode.AgentStartFailed, `the container for job ${spec.jobId} vanished while being started`, {
          userText: 'the agent container vanished while being started; ask again',
          cause: err,
        });
      }
      if (statusOf(err) === 404) {
        // The operator's fix stays in the message (logs); the user only hears that the image is missing.
        throw new SwitchboardError(
          ErrorCode.AgentImageMissing,
          `agent image ${spec.image} is not on the Docker engine: build it (docker build --target agent -t ${spec.image} .) or set AGENT_IMAGE`,
          {
            userText: 'the agent image is not installed on this Switchboard; whoever runs it will find the fix in its logs',
            operatorHint: `docker build --target agent -t ${spec.image} .  (or set AGENT_IMAGE)`,
            cause: err,
          },
        );
      }
      throw err;
    }
    // AutoRemove: ask for the exit before starting, or a quick agent is gone before we ask.
    const exited = this.waitForExit(container, 'next-exit');
    await container.start();
    log.info({ containerId: container.id.slice(0, 12) }, 'agent container started');
    return { jobId: spec.jobId, ref: container.id, adopted: false, exited };
  }

  async attach(jobId: string): Promise<AgentHandle | undefined> {
    const name = containerName(jobId);
    return this.adopt(name, jobId, this.options.logger.child({ jobId, container: name }));
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
      const exited = this.waitForExit(container, 'next-exit');
      await container.start();
      log.info('agent container was created but not started: started it');
      return { jobId, ref: info.Id, adopted: true, exited };
    }
    log.info({ state: info.State.Status }, 'agent container already exists: adopting it');
    if (!info.State.Running) {
      return { jobId, ref: info.Id, adopted: true, exited: Promise.resolve({ exitCode: info.State.ExitCode }) };
    }
    return { jobId, ref: info.Id, adopted: true, exited: this.waitForExit(container, 'not-running') };
  }

  private waitForExit(container: Docker.Container, condition: 'next-exit' | 'not-running'): Promise<AgentExit> {
    return container.wait({ condition }).then(
      (res: { StatusCode: number; Error?: { Message?: string } | null }) => ({
        exitCode: res.StatusCode,
        detail: res.Error?.Message || undefined,
      }),
      (err: unknown) => ({ exitCode: null, detail: `lost track of the container: ${(err as Error).message}` }),
    );
  }

  async stop(jobId: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(containerName(jobId)).stop({ t: graceSeconds });
    } catch (err) {
      const status = statusOf(err);
      if (status !== 404 && status !== 304) throw err;
    }
  }
}
