// Runs each job's agent as a Kubernetes Job (one pod, never retried), with the
// job's secret values in a Secret the Job owns. Two informers (Jobs and pods
// carrying Switchboard's label) follow every agent; client-node's ListWatch
// resumes from the last resourceVersion and re-lists after 410 Gone, and we
// restart it after any other error, with back-off while the API server does
// not answer. A lost watch never settles an agent's exit: only what the API
// says about the Job and its pod does (issue 11).
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  makeInformer,
  type Informer,
  type ObjectCache,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import { identityFromLabels, MANAGED_SELECTOR } from '../../domain/agent-contract.js';
import { ErrorCode, SwitchboardError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { AgentExit, AgentHandle, AgentInfo, AgentSpec, JobSpawner } from '../spawner.js';
import type { KubeConnection } from './kube-connection.js';
import { pause } from '../pause.js';
import { jobManifest, jobName, secretManifest, secretName } from './job-manifest.js';
import { mainPod, terminatedOf, verdictOf } from './job-verdict.js';

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

const REWATCH_MAX_DELAY_MS = 30_000;
const DEFAULT_API_WAIT_MS = 30_000;
const DEFAULT_RESYNC_MS = 30_000;
/** A direct read that takes longer is abandoned (a silent connection): the next resync tries again. */
const RESYNC_READ_TIMEOUT_MS = 10_000;

/** No HTTP answer at all: the API server did not answer (as opposed to refusing). */
const isUnreachable = (err: unknown) =>
  err instanceof SwitchboardError
    ? err.code === ErrorCode.KubernetesApiFailed && codeOf(err.cause) === undefined
    : codeOf(err) === undefined;

interface Waiter {
  resolve(exit: AgentExit): void;
  /** Last exit code a pod showed, for when the Job is deleted before its condition is seen. */
  lastExitCode: number | null;
  /** The Job is gone but its pod may still be terminating: settle once it has. */
  jobDeleted?: boolean;
  unschedulableTimer?: NodeJS.Timeout;
  settling?: boolean;
}

export class KubernetesSpawner implements JobSpawner {
  readonly kind = 'kubernetes' as const;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private jobs?: Informer<V1Job> & ObjectCache<V1Job>;
  private pods?: Informer<V1Pod> & ObjectCache<V1Pod>;
  private watching?: Promise<void>;
  private closed = false;
  private readonly waiters = new Map<string, Waiter>();
  /** Called after every watch event: stop() waits on these. */
  private readonly listeners = new Set<() => void>();
  private readonly rewatchTimers = new Set<NodeJS.Timeout>();
  /** Aborted by close(): retries stop. */
  private readonly closing = new AbortController();
  private resyncTimer?: NodeJS.Timeout;
  private resyncing = false;

  constructor(private readonly options: KubernetesSpawnerOptions) {
    this.batch = options.connection.kubeConfig.makeApiClient(BatchV1Api);
    this.core = options.connection.kubeConfig.makeApiClient(CoreV1Api);
    this.namespace = options.connection.namespace;
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
    await this.ensureWatching();
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
      await this.ensureWatching();
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
  private async whileUnreachable<T>(what: string, log: Logger, attempt: () => Promise<T>): Promise<T> {
    const budget = this.options.apiWaitMs ?? DEFAULT_API_WAIT_MS;
    const began = Date.now();
    let delay = Math.min(this.options.rewatchDelayMs ?? 1000, 1000);
    let warned = false;
    for (;;) {
      try {
        const result = await attempt();
        if (warned) log.info({ afterMs: Date.now() - began }, `the Kubernetes API answers again: could ${what}`);
        return result;
      } catch (err) {
        if (!isUnreachable(err) || Date.now() - began + delay > budget || this.closing.signal.aborted) throw err;
        if (!warned) log.warn({ err, retryForMs: budget }, `the Kubernetes API does not answer: will try to ${what} again with back-off`);
        warned = true;
        await pause(delay, this.closing.signal);
        delay = Math.min(delay * 2, 5_000);
      }
    }
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
    if (this.pods) {
      const gone = () => !this.podsOf(name).some((p) => !terminatedOf(p));
      await this.waitFor(gone, (graceSeconds + 5) * 1000);
    }
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
    this.closed = true;
    this.closing.abort();
    clearInterval(this.resyncTimer);
    for (const t of this.rewatchTimers) clearTimeout(t);
    for (const w of this.waiters.values()) clearTimeout(w.unschedulableTimer);
    await Promise.all([this.jobs?.stop(), this.pods?.stop()]);
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
    const exited = new Promise<AgentExit>((resolve) => {
      const previous = this.waiters.get(name);
      this.waiters.set(name, {
        lastExitCode: null,
        resolve: (exit) => {
          previous?.resolve(exit);
          resolve(exit);
        },
      });
    });
    void this.evaluate(name);
    return { jobId, ref: name, adopted, exited };
  }

  /** Starts both informers once; a failed start is retried by the next call. */
  private ensureWatching(): Promise<void> {
    this.watching ??= this.startWatching().catch((err: unknown) => {
      this.watching = undefined;
      throw err;
    });
    return this.watching;
  }

  private async startWatching(): Promise<void> {
    const { kubeConfig } = this.options.connection;
    const ns = this.namespace;
    this.jobs = makeInformer(
      kubeConfig,
      `/apis/batch/v1/namespaces/${ns}/jobs`,
      () => this.batch.listNamespacedJob({ namespace: ns, labelSelector: MANAGED_SELECTOR }),
      MANAGED_SELECTOR,
    );
    this.pods = makeInformer(
      kubeConfig,
      `/api/v1/namespaces/${ns}/pods`,
      () => this.core.listNamespacedPod({ namespace: ns, labelSelector: MANAGED_SELECTOR }),
      MANAGED_SELECTOR,
    );
    this.follow('jobs', this.jobs);
    this.follow('pods', this.pods);
    try {
      await Promise.all([this.jobs.start(), this.pods.start()]);
    } catch (err) {
      await Promise.all([this.jobs.stop(), this.pods.stop()]).catch(() => undefined);
      throw this.readable(err, 'watch jobs and pods');
    }
    this.resyncTimer = setInterval(() => void this.resync(), this.options.resyncMs ?? DEFAULT_RESYNC_MS);
    this.resyncTimer.unref();
  }

  /**
   * Reads each followed agent's Job and pods directly and settles the ones
   * that ended: a watch can go silent without an error (a connection held
   * open by a dead peer), and its informer would wait forever. Only an end the
   * API itself reports settles anything; a read that fails changes nothing.
   */
  private async resync(): Promise<void> {
    if (this.resyncing || this.closed) return;
    this.resyncing = true;
    try {
      for (const [name, waiter] of [...this.waiters]) {
        if (waiter.settling || this.closed) continue;
        const read = await withTimeout(
          Promise.all([
            this.batch.readNamespacedJob({ name, namespace: this.namespace }).catch((err: unknown) => {
              if (codeOf(err) === 404) return undefined;
              throw err;
            }),
            this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `job-name=${name}` }).then((l) => l.items),
          ]),
          RESYNC_READ_TIMEOUT_MS,
        ).catch(() => undefined);
        // The API does not answer: the watches' back-off deals with that; nothing is concluded.
        if (!read) return;
        if (this.waiters.get(name) !== waiter || waiter.settling) continue;
        const [job, pods] = read;
        const code = terminatedOf(mainPod(pods))?.exitCode;
        if (code !== undefined) waiter.lastExitCode = code;
        if (!job) {
          if (pods.some((p) => !terminatedOf(p))) continue;
          this.options.logger.warn({ k8sJob: name }, "the watch missed that an agent's Job was deleted: a direct read found it");
          const last = code ?? waiter.lastExitCode;
          this.settle(name, { exitCode: last ?? null, detail: last === null ? "the agent's Job was deleted before it ran" : undefined });
          continue;
        }
        const verdict = verdictOf(job, pods);
        if (verdict.state === 'exited') {
          this.options.logger.warn({ k8sJob: name }, 'the watch missed the end of an agent: a direct read found it');
          this.settle(name, verdict);
        }
      }
    } finally {
      this.resyncing = false;
    }
  }

  /**
   * Re-evaluates the job an event is about; restarts the informer after an
   * error, with back-off while it keeps failing, and says so once per outage.
   */
  private follow<T extends V1Job | V1Pod>(what: 'jobs' | 'pods', informer: Informer<T>): void {
    const firstDelay = this.options.rewatchDelayMs ?? 1000;
    let delay = firstDelay;
    let failingSince: number | undefined;
    let failures = 0;
    // Each (re)start that gets as far as listing or watching: a restart that fails again comes back through 'error'.
    informer.on('connect', () => {
      if (failingSince === undefined) return;
      // Not yet proof the watch stands: an error within the next second keeps the outage open.
      const seen = failures;
      const t = setTimeout(() => {
        this.rewatchTimers.delete(t);
        if (failures !== seen || failingSince === undefined || this.closed) return;
        this.options.logger.info({ what, outageMs: Date.now() - failingSince }, 'Kubernetes watch restored: following agents again');
        failingSince = undefined;
        delay = firstDelay;
      }, 1000);
      this.rewatchTimers.add(t);
    });
    const onChange = (o: T) => {
      const name = what === 'jobs' ? o.metadata?.name : o.metadata?.labels?.['job-name'];
      if (name) void this.evaluate(name);
      for (const l of this.listeners) l();
    };
    informer.on('add', onChange);
    informer.on('update', onChange);
    informer.on('delete', (o: T) => {
      if (what === 'jobs' && o.metadata?.name) this.jobGone(o.metadata.name);
      onChange(o);
    });
    informer.on('error', (err: unknown) => {
      if (this.closed) return;
      failures++;
      if (failingSince === undefined) {
        failingSince = Date.now();
        this.options.logger.warn(
          { err, what },
          "Kubernetes watch failed: watching again with back-off (agents' exits are not assumed meanwhile)",
        );
      } else {
        this.options.logger.debug({ err, what, delayMs: delay }, 'Kubernetes watch still failing');
      }
      const t = setTimeout(() => {
        this.rewatchTimers.delete(t);
        if (!this.closed) void informer.start().catch(() => undefined);
      }, delay);
      delay = Math.min(delay * 2, REWATCH_MAX_DELAY_MS);
      this.rewatchTimers.add(t);
    });
  }

  private waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const check = () => done() && finish();
      const timer = setTimeout(finish, timeoutMs);
      this.listeners.add(check);
    });
  }

  private podsOf(name: string): V1Pod[] {
    return (this.pods?.list(this.namespace) ?? []).filter((p) => p.metadata?.labels?.['job-name'] === name);
  }

  private settle(name: string, exit: AgentExit): void {
    const waiter = this.waiters.get(name);
    if (!waiter) return;
    this.waiters.delete(name);
    clearTimeout(waiter.unschedulableTimer);
    waiter.resolve(exit);
  }

  private jobGone(name: string): void {
    const waiter = this.waiters.get(name);
    if (!waiter || waiter.settling) return;
    waiter.jobDeleted = true;
    this.settleDeleted(name, waiter);
  }

  /** A deleted Job's agent has ended once its pod has terminated or is gone. */
  private settleDeleted(name: string, waiter: Waiter): void {
    const pods = this.podsOf(name);
    if (pods.some((p) => !terminatedOf(p))) return;
    const code = terminatedOf(mainPod(pods))?.exitCode ?? waiter.lastExitCode;
    this.settle(name, { exitCode: code ?? null, detail: code === null ? "the agent's Job was deleted before it ran" : undefined });
  }

  private async evaluate(name: string): Promise<void> {
    const waiter = this.waiters.get(name);
    if (!waiter || waiter.settling) return;
    if (waiter.jobDeleted) return this.settleDeleted(name, waiter);
    const job = this.jobs?.get(name, this.namespace);
    if (!job) return;
    const pods = this.podsOf(name);
    const code = terminatedOf(mainPod(pods))?.exitCode;
    if (code !== undefined) waiter.lastExitCode = code;
    const verdict = verdictOf(job, pods);
    if (verdict.state === 'exited') {
      if (verdict.exitCode === null && !terminatedOf(mainPod(pods))) {
        // The Job's condition came before its pod's last state reached our watch (or after an outage the
        // jobs re-listed first and the pods' cache is stale): ask for the pod.
        waiter.settling = true;
        const fresh = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `job-name=${name}` }).then(
          (l) => l.items,
          () => [],
        );
        waiter.settling = false;
        const again = verdictOf(job, fresh);
        return this.settle(name, again.state === 'exited' ? again : verdict);
      }
      return this.settle(name, verdict);
    }
    if (verdict.state === 'stuck') {
      waiter.settling = true;
      this.options.logger.warn({ k8sJob: name, detail: verdict.detail }, 'agent pod cannot start: deleting its Job');
      await this.deleteJob(name).catch((err: unknown) => this.options.logger.error({ err, k8sJob: name }, 'could not delete a stuck Job'));
      waiter.settling = false;
      return this.settle(name, { exitCode: null, detail: verdict.detail });
    }
    if (verdict.state === 'unschedulable') {
      if (waiter.unschedulableTimer) return;
      const graceMs = this.options.unschedulableGraceMs ?? 120_000;
      waiter.unschedulableTimer = setTimeout(() => {
        const now = this.jobs?.get(name, this.namespace);
        const still = now && verdictOf(now, this.podsOf(name));
        if (!still || still.state !== 'unschedulable') {
          waiter.unschedulableTimer = undefined;
          return void this.evaluate(name);
        }
        waiter.settling = true;
        void this.deleteJob(name)
          .catch((err: unknown) => this.options.logger.error({ err, k8sJob: name }, 'could not delete an unschedulable Job'))
          .then(() => {
            waiter.settling = false;
            this.settle(name, {
              exitCode: null,
              detail: `no node could take the agent within ${Math.round(graceMs / 1000)} s (Unschedulable: ${still.message})`,
            });
          });
      }, graceMs);
      return;
    }
    if (waiter.unschedulableTimer) {
      clearTimeout(waiter.unschedulableTimer);
      waiter.unschedulableTimer = undefined;
    }
  }

  /** An API failure as an operator can act on it. */
  private readable(err: unknown, action: string): Error {
    const { server } = this.options.connection;
    const code = codeOf(err);
    const message = statusMessage(err);
    const text =
      code === 401
        ? `the Kubernetes API at ${server} refused the dispatcher's credentials (401 Unauthorized): check the kubeconfig or the service account token`
        : code === 403
          ? `the dispatcher may not ${action} in namespace ${this.namespace} (403 Forbidden): apply manifests/base/rbac.yaml or grant its Role that verb${message ? `; the API server said: ${message}` : ''}`
          : code === 422
            ? `Kubernetes refused the object as invalid (422): ${message}`
            : code !== undefined
              ? `Kubernetes answered ${code} when asked to ${action} in namespace ${this.namespace}${message ? `: ${message}` : ''}`
              : `the Kubernetes API at ${server} does not answer (${(err as Error).message})`;
    return new SwitchboardError(ErrorCode.KubernetesApiFailed, text, {
      userText:
        code === undefined
          ? 'the cluster that runs agents does not answer right now'
          : 'the cluster that runs agents refused to start it; whoever runs Switchboard will find why in its logs',
      operatorHint: text,
      cause: err,
    });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

function codeOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown })?.statusCode ?? (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

function statusMessage(err: unknown): string | undefined {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message;
    } catch {
      return body.slice(0, 300);
    }
  }
  return (body as { message?: string } | undefined)?.message;
}
