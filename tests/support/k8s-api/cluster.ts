// The double's control plane and its one node: the Job controller (a pod per
// Job, status conditions as batch/v1 sets them, activeDeadlineSeconds,
// ttlSecondsAfterFinished), a scheduler that only checks requests against the
// node's capacity, the garbage collector (ownerReferences), and a kubelet that
// runs each pod's container on the real Docker engine.
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import type { KObject, ObjectStore } from './store.js';
import { success, type StatusBody } from './status.js';

export interface NodeOptions {
  docker: Docker;
  /** Docker network the pods' containers join (the pod network). */
  network: string;
  /** What the node can schedule; requests above it leave the pod Pending/Unschedulable. */
  capacity: { cpu: number; memoryBytes: number };
  /** Label on every container, so a test run removes only its own. */
  runLabel: string;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const ownedBy = (o: KObject, uid: string) => (o.metadata.ownerReferences ?? []).some((r) => r.uid === uid);

export class Cluster {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Pod name → its container, while it runs. */
  private readonly containers = new Map<string, Docker.Container>();
  /** Pod name → settles once the kubelet has written the pod's final status. */
  private readonly finals = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly node: NodeOptions,
  ) {
    store.subscribe((c) => {
      if (c.resource === 'secrets' && c.type === 'ADDED') this.retryPodsWaitingFor(c.object);
    });
  }

  /** API server create hook: defaults as the real API server fills them, then the controller reacts. */
  create(resource: 'jobs' | 'pods' | 'secrets', object: KObject): KObject {
    if (resource === 'secrets') {
      const data: Record<string, string> = { ...(object.data as Record<string, string> | undefined) };
      for (const [k, v] of Object.entries((object.stringData as Record<string, string> | undefined) ?? {}))
        data[k] = Buffer.from(v).toString('base64');
      delete object.stringData;
      object.data = data;
      object.type ??= 'Opaque';
      return this.store.create('secrets', object);
    }
    const spec = object.spec;
    spec.backoffLimit ??= 6;
    spec.completions ??= 1;
    spec.parallelism ??= 1;
    spec.completionMode ??= 'NonIndexed';
    spec.suspend ??= false;
    const created = this.store.create('jobs', object);
    // The controller-uid labels and selector come with the uid, so in a second write.
    const uid = created.metadata.uid!;
    const job = this.store.update('jobs', created.metadata.namespace!, created.metadata.name, (j) => {
      const labels = {
        'batch.kubernetes.io/controller-uid': uid,
        'batch.kubernetes.io/job-name': j.metadata.name,
        'controller-uid': uid,
        'job-name': j.metadata.name,
      };
      j.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
      j.spec.template.metadata = { ...j.spec.template.metadata, labels: { ...j.spec.template.metadata?.labels, ...labels } };
    })!;
    this.later(0, () => this.startJob(job));
    return job;
  }

  /** API server delete hook: pods are deleted gracefully by their kubelet; owners take their dependents along. */
  delete(
    resource: 'jobs' | 'pods' | 'secrets',
    object: KObject,
    options: { propagationPolicy: string; gracePeriodSeconds?: number },
  ): StatusBody | KObject {
    const { namespace, name, uid } = object.metadata as { namespace: string; name: string; uid: string };
    if (resource === 'pods') {
      const grace = options.gracePeriodSeconds ?? object.spec.terminationGracePeriodSeconds ?? 30;
      const marked = this.store.update('pods', namespace, name, (p) => {
        p.metadata.deletionTimestamp = now();
        p.metadata.deletionGracePeriodSeconds = grace;
      });
      void this.killPod(namespace, name, grace).then(() => this.store.remove('pods', namespace, name));
      return marked ?? object;
    }
    this.store.remove(resource, namespace, name);
    // The garbage collector deletes dependents with their own grace period, not the owner's.
    if (options.propagationPolicy !== 'Orphan') this.collectGarbage(namespace, uid);
    return success({ name, group: resource === 'jobs' ? 'batch' : undefined, kind: resource, uid });
  }

  /** Evicts a job's running pod, as the kubelet does under node pressure. */
  async evict(namespace: string, podName: string): Promise<void> {
    await this.stopContainer(podName, 0, {
      reason: 'Evicted',
      message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 64Mi.',
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all([...this.containers.values()].map((c) => c.remove({ force: true }).catch(() => undefined)));
    const leftovers = await this.node.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`switchboard-k8s-double=${this.node.runLabel}`] }),
    });
    await Promise.all(
      leftovers.map((c) =>
        this.node.docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
  }

  private later(ms: number, fn: () => unknown): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      void Promise.resolve()
        .then(fn)
        .catch(() => undefined);
    }, ms);
    this.timers.add(t);
  }

  private collectGarbage(namespace: string, ownerUid: string): void {
    for (const resource of ['pods', 'secrets'] as const) {
      for (const o of this.store.list(resource, namespace)) {
        if (ownedBy(o, ownerUid)) this.delete(resource, o, { propagationPolicy: 'Background' });
      }
    }
  }

  private startJob(job: KObject): void {
    const { namespace, name, uid } = job.metadata as { namespace: string; name: string; uid: string };
    const started = this.store.update('jobs', namespace, name, (j) => {
      j.status = { startTime: now(), active: 1, ready: 0, terminating: 0, uncountedTerminatedPods: {} };
    });
    if (!started) return;
    const template = job.spec.template;
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${name}-${randomBytes(3).toString('hex').slice(0, 5)}`,
        namespace,
        labels: template.metadata?.labels ?? {},
        annotations: template.metadata?.annotations,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { ...template.spec, terminationGracePeriodSeconds: template.spec.terminationGracePeriodSeconds ?? 30 },
      status: { phase: 'Pending', qosClass: 'Burstable' },
    };
    const created = this.store.create('pods', pod);
    const deadline = job.spec.activeDeadlineSeconds;
    if (deadline) this.later(deadline * 1000, () => this.deadlineExceeded(namespace, name));
    this.later(0, () => this.schedule(created));
  }

  private schedule(pod: KObject): void {
    const { namespace, name } = pod.metadata as { namespace: string; name: string };
    const requests = pod.spec.containers[0]?.resources?.requests ?? {};
    const cpu = parseCpu(requests.cpu ?? '0');
    const memory = parseMemory(requests.memory ?? '0');
    const short = [
      cpu > this.node.capacity.cpu && 'Insufficient cpu',
      memory > this.node.capacity.memoryBytes && 'Insufficient memory',
    ].filter(Boolean);
    if (short.length) {
      this.store.update('pods', namespace, name, (p) => {
        p.status.conditions = [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: `0/1 nodes are available: 1 ${short.join(', 1 ')}. preemption: 0/1 nodes are available.`,
            lastTransitionTime: now(),
          },
        ];
      });
      return;
    }
    this.store.update('pods', namespace, name, (p) => {
      p.spec.nodeName = 'double-node-1';
      p.status.conditions = [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now() }];
    });
    void this.runPod(namespace, name);
  }

  private retryPodsWaitingFor(secret: KObject): void {
    for (const pod of this.store.list('pods', secret.metadata.namespace!)) {
      const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason === 'CreateContainerConfigError') void this.runPod(pod.metadata.namespace!, pod.metadata.name);
    }
  }

  private setWaiting(namespace: string, name: string, containerName: string, image: string, reason: string, message: string): void {
    this.store.update('pods', namespace, name, (p) => {
      p.status.containerStatuses = [
        { name: containerName, image, imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: { reason, message } } },
      ];
    });
  }

  /** The kubelet: resolve env from Secrets, pull (look up) the image, run the container. */
  private async runPod(namespace: string, name: string): Promise<void> {
    const pod = this.store.get('pods', namespace, name);
    if (!pod || this.containers.has(name) || pod.metadata.deletionTimestamp) return;
    const c = pod.spec.containers[0];
    const env: string[] = [];
    const secret = (secretName: string) => this.store.get('secrets', namespace, secretName);
    const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
    for (const from of c.envFrom ?? []) {
      const s = from.secretRef && secret(from.secretRef.name);
      if (from.secretRef && !s) {
        if (from.secretRef.optional) continue;
        return this.setWaiting(namespace, name, c.name, c.image, 'CreateContainerConfigError', `secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries((s?.data as Record<string, string>) ?? {})) env.push(`${from.prefix ?? ''}${k}=${decode(v)}`);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) {
        const ref = e.valueFrom.secretKeyRef;
        const value = (secret(ref.name)?.data as Record<string, string> | undefined)?.[ref.key];
        if (value === undefined) {
          if (ref.optional) continue;
          return this.setWaiting(
            namespace,
            name,
            c.name,
            c.image,
            'CreateContainerConfigError',
            `couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`,
          );
        }
        env.push(`${e.name}=${decode(value)}`);
      } else env.push(`${e.name}=${e.value ?? ''}`);
    }
    try {
      await this.node.docker.getImage(c.image).inspect();
    } catch {
      this.setWaiting(namespace, name, c.name, c.image, 'ErrImagePull', `failed to pull and unpack image "${c.image}": not found`);
      this.later(500, () => this.setWaiting(namespace, name, c.name, c.image, 'ImagePullBackOff', `Back-off pulling image "${c.image}"`));
      return;
    }
    const sc = { ...pod.spec.securityContext, ...c.securityContext };
    const emptyDirs = new Set(
      (pod.spec.volumes ?? []).filter((v: { emptyDir?: unknown }) => v.emptyDir).map((v: { name: string }) => v.name),
    );
    const tmpfs: Record<string, string> = {};
    for (const m of c.volumeMounts ?? [])
      if (emptyDirs.has(m.name)) tmpfs[m.mountPath] = `rw,exec,size=256m,uid=${sc.runAsUser ?? 0},gid=${sc.fsGroup ?? sc.runAsGroup ?? 0}`;
    const limits = c.resources?.limits ?? {};
    const deleting = () => {
      const p = this.store.get('pods', namespace, name);
      return !p || Boolean(p.metadata.deletionTimestamp);
    };
    // Deleted while the image was looked up: never start it.
    if (deleting() || this.containers.has(name)) return;
    const startedAt = now();
    let container: Docker.Container;
    try {
      container = await this.node.docker.createContainer({
        name: `k8s-double-${this.node.runLabel}-${name}`,
        Image: c.image,
        Entrypoint: c.command,
        Cmd: c.args,
        Env: env,
        User: sc.runAsUser !== undefined ? `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}` : undefined,
        WorkingDir: c.workingDir,
        Labels: { 'switchboard-k8s-double': this.node.runLabel, 'io.kubernetes.pod.name': name, 'io.kubernetes.pod.namespace': namespace },
        HostConfig: {
          NetworkMode: this.node.network,
          ReadonlyRootfs: sc.readOnlyRootFilesystem === true,
          Tmpfs: tmpfs,
          CapDrop: sc.capabilities?.drop ?? [],
          SecurityOpt: sc.allowPrivilegeEscalation === false ? ['no-new-privileges'] : [],
          Memory: limits.memory ? parseMemory(limits.memory) : undefined,
          NanoCpus: limits.cpu ? Math.round(parseCpu(limits.cpu) * 1e9) : undefined,
        },
      });
    } catch (err) {
      return this.podFinished(namespace, name, 128, 'StartError', startedAt, { reason: 'StartError', message: (err as Error).message });
    }
    this.containers.set(name, container);
    const exited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
    try {
      await container.start();
    } catch (err) {
      this.containers.delete(name);
      await container.remove({ force: true }).catch(() => undefined);
      // The runtime could not start the process (no such executable, say): terminated with 128, as containerd reports it.
      return this.podFinished(namespace, name, 128, 'StartError', startedAt, { reason: 'StartError', message: (err as Error).message });
    }
    this.store.update('pods', namespace, name, (p) => {
      p.status.phase = 'Running';
      p.status.startTime = startedAt;
      p.status.podIP = '10.244.0.' + (1 + Math.floor(Math.random() * 250));
      p.status.conditions = [...(p.status.conditions ?? []), { type: 'Ready', status: 'True', lastTransitionTime: startedAt }];
      p.status.containerStatuses = [
        {
          name: c.name,
          image: c.image,
          imageID: `docker-pullable://${c.image}`,
          containerID: `docker://${container.id}`,
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt } },
        },
      ];
    });
    this.store.update('jobs', namespace, pod.metadata.ownerReferences![0]!.name, (j) => (j.status.ready = 1));
    // Deleted while the container was being created: the kubelet kills it at once.
    if (deleting()) void container.stop({ t: 0 }).catch(() => undefined);
    const final = (async () => {
      const { StatusCode } = await exited.catch(() => ({ StatusCode: 137 }));
      const info = await container.inspect().catch(() => undefined);
      this.containers.delete(name);
      await container.remove({ force: true }).catch(() => undefined);
      this.podFinished(
        namespace,
        name,
        StatusCode,
        info?.State.OOMKilled ? 'OOMKilled' : StatusCode === 0 ? 'Completed' : 'Error',
        startedAt,
      );
    })();
    this.finals.set(name, final);
    await final;
    this.finals.delete(name);
  }

  private podFinished(
    namespace: string,
    name: string,
    exitCode: number,
    reason: string,
    startedAt: string,
    podReason?: { reason: string; message: string },
  ): void {
    const pod = this.store.update('pods', namespace, name, (p) => {
      p.status.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
      if (podReason) Object.assign(p.status, podReason);
      const cs = p.status.containerStatuses?.[0] ?? {};
      p.status.containerStatuses = [
        {
          ...cs,
          ready: false,
          started: false,
          state: { terminated: { exitCode, reason, startedAt, finishedAt: now(), containerID: cs.containerID } },
        },
      ];
      p.status.conditions = (p.status.conditions ?? []).map((c: { type: string }) =>
        c.type === 'Ready' ? { ...c, status: 'False', reason: 'PodCompleted' } : c,
      );
    });
    const jobName = pod?.metadata.ownerReferences?.[0]?.name;
    if (!jobName) return;
    if (exitCode === 0)
      this.finishJob(namespace, jobName, 'Complete', 'CompletionsReached', 'Reached expected number of succeeded pods', { succeeded: 1 });
    else this.finishJob(namespace, jobName, 'Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', { failed: 1 });
  }

  private finishJob(
    namespace: string,
    name: string,
    type: 'Complete' | 'Failed',
    reason: string,
    message: string,
    counts: Record<string, number>,
  ): void {
    const t = now();
    const job = this.store.update('jobs', namespace, name, (j) => {
      if ((j.status.conditions ?? []).some((c: { type: string }) => c.type === 'Complete' || c.type === 'Failed')) return;
      // batch/v1 since 1.31: the interim condition first, then the terminal one.
      const interim = type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget';
      j.status = {
        ...j.status,
        ...counts,
        active: 0,
        ready: 0,
        ...(type === 'Complete' ? { completionTime: t } : {}),
        conditions: [
          { type: interim, status: 'True', reason, message, lastProbeTime: t, lastTransitionTime: t },
          { type, status: 'True', reason, message, lastProbeTime: t, lastTransitionTime: t },
        ],
      };
    });
    const ttl = job?.spec.ttlSecondsAfterFinished;
    if (ttl !== undefined) {
      this.later(ttl * 1000, () => {
        const j = this.store.get('jobs', namespace, name);
        if (j && j.metadata.uid === job!.metadata.uid) this.delete('jobs', j, { propagationPolicy: 'Background' });
      });
    }
  }

  private deadlineExceeded(namespace: string, name: string): void {
    const job = this.store.get('jobs', namespace, name);
    if (!job || (job.status?.conditions ?? []).length) return;
    this.finishJob(namespace, name, 'Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline', { failed: 1 });
    for (const pod of this.store.list('pods', namespace)) {
      if (ownedBy(pod, job.metadata.uid!)) this.delete('pods', pod, { propagationPolicy: 'Background' });
    }
  }

  /** Stops the pod's container; the pod object goes only after its final status is written, as with a real kubelet. */
  private async killPod(namespace: string, name: string, grace: number): Promise<void> {
    await this.stopContainer(name, grace);
    await this.finals.get(name);
    void namespace;
  }

  private async stopContainer(podName: string, grace: number, podReason?: { reason: string; message: string }): Promise<void> {
    const container = this.containers.get(podName);
    if (!container) return;
    if (podReason) {
      // Evicted: record the pod's reason before the exit is observed by runPod.
      const pod = this.store.all('pods').find((p) => p.metadata.name === podName);
      if (pod) this.store.update('pods', pod.metadata.namespace!, podName, (p) => Object.assign(p.status, podReason));
    }
    await container.stop({ t: grace }).catch(() => undefined);
  }
}

export function parseCpu(q: string | number): number {
  const s = String(q);
  return s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s);
}

const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};
export function parseMemory(q: string | number): number {
  const m = String(q).match(/^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|)$/);
  if (!m) throw new Error(`not a memory quantity: ${q}`);
  return Math.round(Number(m[1]) * MEMORY_UNITS[m[2]!]!);
}
