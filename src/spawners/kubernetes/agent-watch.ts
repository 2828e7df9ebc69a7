// Follows every agent's Job and pods (two informers on Switchboard's label)
// and settles each agent's exit from what the API says about them: the Job's
// condition, its pod's last state, its deletion. client-node's ListWatch
// resumes from the last resourceVersion and re-lists after 410 Gone; after any
// other error the informer is restarted with back-off, and a direct read
// every RESYNC catches a watch that went silent. A lost watch never settles an
// exit (issue 11). Jobs that cannot run (an image that cannot be pulled, no
// node for the pod) are deleted through the spawner.
import { BatchV1Api, CoreV1Api, makeInformer, type Informer, type ObjectCache, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { MANAGED_SELECTOR } from '../../domain/agent-contract.js';
import type { Logger } from '../../observability/logger.js';
import type { AgentExit } from '../spawner.js';
import { codeOf, readableApiError, withTimeout } from './api-errors.js';
import type { KubeConnection } from './kube-connection.js';
import { mainPod, terminatedOf, verdictOf } from './job-verdict.js';

export interface AgentWatchOptions {
  connection: KubeConnection;
  batch: BatchV1Api;
  core: CoreV1Api;
  logger: Logger;
  /** How long a pod may wait for a node before the job is failed; default two minutes. */
  unschedulableGraceMs?: number;
  /** First delay before an informer that failed is restarted, doubling up to 30 s; default 1 s. */
  rewatchDelayMs?: number;
  /** How often the agents still followed are read directly; default 30 s. */
  resyncMs?: number;
  /** Deletes the Job of an agent that cannot run (stuck, unschedulable). */
  deleteJob(name: string): Promise<void>;
}

const REWATCH_MAX_DELAY_MS = 30_000;
const DEFAULT_RESYNC_MS = 30_000;
/** A direct read that takes longer is abandoned (a silent connection): the next resync tries again. */
const RESYNC_READ_TIMEOUT_MS = 10_000;

interface Waiter {
  resolve(exit: AgentExit): void;
  /** Last exit code a pod showed, for when the Job is deleted before its condition is seen. */
  lastExitCode: number | null;
  /** The Job is gone but its pod may still be terminating: settle once it has. */
  jobDeleted?: boolean;
  unschedulableTimer?: NodeJS.Timeout;
  settling?: boolean;
}

export class AgentWatch {
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly namespace: string;
  private jobs?: Informer<V1Job> & ObjectCache<V1Job>;
  private pods?: Informer<V1Pod> & ObjectCache<V1Pod>;
  private watching?: Promise<void>;
  private closed = false;
  private readonly waiters = new Map<string, Waiter>();
  /** Called after every watch event: podsGone() waits on these. */
  private readonly listeners = new Set<() => void>();
  private readonly rewatchTimers = new Set<NodeJS.Timeout>();
  private resyncTimer?: NodeJS.Timeout;
  private resyncing = false;

  constructor(private readonly options: AgentWatchOptions) {
    this.batch = options.batch;
    this.core = options.core;
    this.namespace = options.connection.namespace;
  }

  /** The exit of the agent whose Job is `name`, as the API reports it (several callers may follow one agent). */
  exitOf(name: string): Promise<AgentExit> {
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
    return exited;
  }

  /** Resolves once every pod of the Job `name` has terminated or is gone, or after `timeoutMs`. */
  async podsGone(name: string, timeoutMs: number): Promise<void> {
    if (!this.pods) return;
    await this.waitFor(() => !this.podsOf(name).some((p) => !terminatedOf(p)), timeoutMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.resyncTimer);
    for (const t of this.rewatchTimers) clearTimeout(t);
    for (const w of this.waiters.values()) clearTimeout(w.unschedulableTimer);
    await Promise.all([this.jobs?.stop(), this.pods?.stop()]);
  }

  /** Starts both informers once; a failed start is retried by the next call. */
  ensureWatching(): Promise<void> {
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
      throw readableApiError(err, 'watch jobs and pods', { server: this.options.connection.server, namespace: this.namespace });
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
      await this.options
        .deleteJob(name)
        .catch((err: unknown) => this.options.logger.error({ err, k8sJob: name }, 'could not delete a stuck Job'));
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
        void this.options
          .deleteJob(name)
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
}
