// Runs each job's agent as a Kubernetes Job (one pod, never retried), with the
// job's secret values in a Secret the Job owns: create, adopt, stop and list
// here; following each agent to its exit in agent-watch.ts. Start, attach and
// stop retry with back-off while the API server does not answer (API_WAIT).
import { BatchV1Api, CoreV1Api, type V1Job } from '@kubernetes/client-node';
import { identityFromLabels, MANAGED_SELECTOR } from '../../domain/agent-contract.js';
import { ErrorCode, SwitchboardError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { AgentHandle, AgentInfo, AgentSpec, JobSpawner } from '../spawner.js';
import type { KubeConnection } from './kube-connection.js';
import { retryWhileUnreachable } from '../../shared/retry.js';
import { jobManifest, jobName, secretManifest, secretName } from './job-manifest.js';
import { AgentWatch } from './agent-watch.js';
import { codeOf, isUnreachable, readableApiError } from './api-errors.js';

export interface KubernetesSpawnerOptions {
  connection: KubeConnection;
  logger: Logger;
  /** RuntimeClass for agent pods (gvisor, kata…); unset: the cluster's default. */
  runtimeClassName?: string;
  /** How long finished Jobs stay for `kubectl describe`; default one hour. */
  ttlSecondsAfterFinished?: number;
  /** How long a pod may wait for a node before the job is failed; default two minutes. */
  unschedulableGraceMs?: number;
  /** Added to the project's timeout for activeDeadlineSeconds; default 60 s. */
  deadlineMarginSeconds?: number;
  /** The pod's terminationGracePeriodSeconds (SIGTERM, then SIGKILL when its Job is deleted); default 10 s. */
  terminationGraceSeconds?: number;
  /** First delay before an informer that failed is restarted, doubling up to 30 s while it keeps failing; default 1 s. */
  rewatchDelayMs?: number;
  /** How long start, attach and stop keep trying while the API server does not answer; default 30 s. */
  apiWaitMs?: number;
  /**
   * How often the agents still followed are read directly (their Job and
   * pods), in case a watch went silent without breaking; default 30 s.
   */
  resyncMs?: number;
}

const DEFAULT_API_WAIT_MS = 30_000;

export class KubernetesSpawner implements JobSpawner {
  readonly kind = 'kubernetes' as const;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private readonly watch: AgentWatch;
  /** Aborted by close(): retries stop. */
  private readonly closing = new AbortController();

  constructor(private readonly options: KubernetesSpawnerOptions) {
    this.batch = options.connection.kubeConfig.makeApiClient(BatchV1Api);
    this.core = options.connection.kubeConfig.makeApiClient(CoreV1Api);
    this.namespace = options.connection.namespace;
    this.watch = new AgentWatch({ ...options, batch: this.batch, core: this.core, deleteJob: (name) => this.deleteJob(name) });
  }

  async ping(): Promise<void> {
    try {
      await this.batch.listNamespacedJob({ namespace: this.namespace, limit: 1 });
    } catch (err) {
      throw this.readable(err, 'list jobs');
    }
  }

  async start(spec: AgentSpec): Promise<AgentHandle> {
    const log = this.options.logger.child({ jobId: spec.jobId, k8sJob: jobName(spec.jobId) });
    // A repeated create adopts the first Job (409), so trying again is safe.
    return this.whileUnreachable('start the agent', log, () => this.startOnce(spec, log));
  }

  private async startOnce(spec: AgentSpec, log: Logger): Promise<AgentHandle> {
    if (spec.workspace) {
      const text = `project ${spec.project} uses a workspace (a directory on the Docker host), which Kubernetes Jobs cannot mount: give the project a repo: to clone instead, or run it with SPAWNER_TYPE=docker`;
      throw new SwitchboardError(ErrorCode.SpawnerUnsupported, text, {
        userText: `project ${spec.project} works on a local checkout, which this Switchboard (running agents on Kubernetes) cannot use; ask whoever runs it to give the project a repo`,
        operatorHint: 'workspace: projects need SPAWNER_TYPE=docker; on Kubernetes give the project a repo: instead',
      });
    }
    await this.watch.ensureWatching();
    const body = jobManifest(spec, {
      namespace: this.namespace,
      ttlSecondsAfterFinished: this.options.ttlSecondsAfterFinished ?? 3600,
      runtimeClassName: this.options.runtimeClassName,
      deadlineMarginSeconds: this.options.deadlineMarginSeconds ?? 60,
      terminationGraceSeconds: this.options.terminationGraceSeconds ?? 10,
    });
    let job: V1Job;
    let adopted = false;
    try {
      job = await this.batch.createNamespacedJob({ namespace: this.namespace, body });
    } catch (err) {
      if (codeOf(err) !== 409) throw this.readable(err, 'create jobs');
      job = await this.batch.readNamespacedJob({ name: body.metadata!.name!, namespace: this.namespace }).catch((e: unknown) => {
        throw this.readable(e, 'read jobs');
      });
      adopted = true;
    }
    // After the Job, because the Secret's ownerReference needs the Job's uid; the pod waits for it meanwhile.
    try {
      await this.core.createNamespacedSecret({
        namespace: this.namespace,
        body: secretManifest(spec, { name: job.metadata!.name!, uid: job.metadata!.uid! }, this.namespace),
      });
    } catch (err) {
      if (codeOf(err) !== 409) {
        // Only the Job this call created goes (by uid), and only while it has no Secret: an adopted
        // Job is another call's agent, and a Secret made meanwhile means that call is starting it.
        if (!adopted) await this.deleteUnstartedJob(job, secretName(spec.jobId), log);
        throw this.readable(err, 'create secrets');
      }
    }
    log.info({ adopted }, adopted ? 'the Job for this job already exists: adopting it' : 'agent Job created');
    return this.handle(spec.jobId, job, adopted);
  }

  async attach(jobId: string): Promise<AgentHandle | undefined> {
    const log = this.options.logger.child({ jobId, k8sJob: jobName(jobId) });
    return this.whileUnreachable('look for the agent', log, async () => {
      await this.watch.ensureWatching();
      try {
        const job = await this.batch.readNamespacedJob({ name: jobName(jobId), namespace: this.namespace });
        return this.handle(jobId, job, true);
      } catch (err) {
        if (codeOf(err) === 404) return undefined;
        throw this.readable(err, 'read jobs');
      }
    });
  }

  /**
   * Runs `attempt` again, with back-off, while the API server does not answer,
   * for up to apiWaitMs; refusals (4xx, 5xx) are not retried.
   */
  private whileUnreachable<T>(what: string, log: Logger, attempt: () => Promise<T>): Promise<T> {
    return retryWhileUnreachable(attempt, {
      peer: 'the Kubernetes API',
      what,
      log,
      backoff: { firstMs: Math.min(this.options.rewatchDelayMs ?? 1000, 1000), maxMs: 5_000 },
      budgetMs: this.options.apiWaitMs ?? DEFAULT_API_WAIT_MS,
      signal: this.closing.signal,
      isUnreachable,
    });
  }

  /**
   * Deletes the Job with background propagation: the garbage collector then
   * deletes the pod, which gets its own grace period (terminationGracePeriodSeconds,
   * set from `graceSeconds` at start: SIGTERM, then SIGKILL) and takes the Secret
   * along. Needs no rights on pods beyond reading them. Returns once the pod is
   * gone or the grace period (plus a margin) has passed.
   */
  async stop(jobId: string, graceSeconds: number): Promise<void> {
    const name = jobName(jobId);
    await this.whileUnreachable('stop the agent', this.options.logger.child({ jobId, k8sJob: name }), () => this.deleteJob(name));
    await this.watch.podsGone(name, (graceSeconds + 5) * 1000);
  }

  async list(): Promise<AgentInfo[]> {
    let jobs: V1Job[];
    try {
      jobs = (await this.batch.listNamespacedJob({ namespace: this.namespace, labelSelector: MANAGED_SELECTOR })).items;
    } catch (err) {
      throw this.readable(err, 'list jobs');
    }
    return jobs.map((j) => {
      const done = j.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      return { ...identityFromLabels(j.metadata?.labels), ref: j.metadata?.name ?? '', running: !done };
    });
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.watch.close();
  }

  private async deleteJob(name: string): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob({ name, namespace: this.namespace, propagationPolicy: 'Background' });
    } catch (err) {
      if (codeOf(err) !== 404) throw this.readable(err, 'delete jobs');
    }
  }

  private async deleteUnstartedJob(job: V1Job, secret: string, log: Logger): Promise<void> {
    const { name, uid } = job.metadata!;
    try {
      await this.core.readNamespacedSecret({ name: secret, namespace: this.namespace });
      return void log.warn({ k8sJob: name }, 'our Secret could not be made but another call made it: the Job is left to that call');
    } catch (err) {
      if (codeOf(err) !== 404) return void log.warn({ err, k8sJob: name }, "could not check the Job's Secret: the Job is left alone");
    }
    await this.batch
      .deleteNamespacedJob({ name: name!, namespace: this.namespace, propagationPolicy: 'Background', body: { preconditions: { uid } } })
      .catch((err: unknown) => {
        if (codeOf(err) !== 404 && codeOf(err) !== 409)
          log.warn({ err, k8sJob: name }, 'could not delete the Job whose Secret could not be made');
      });
  }

  private handle(jobId: string, job: V1Job, adopted: boolean): AgentHandle {
    const name = job.metadata!.name!;
    return { jobId, ref: name, adopted, exited: this.watch.exitOf(name) };
  }

  private readable(err: unknown, action: string): Error {
    return readableApiError(err, action, { server: this.options.connection.server, namespace: this.namespace });
  }
}
