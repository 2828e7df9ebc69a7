// A Kubernetes API server double for tests (DESIGN §6): real HTTP, the real
// paths, verbs, watch streams and Status answers of the API for batch/v1 Jobs,
// core/v1 Pods and Secrets, bodies validated against the official OpenAPI
// schema, a Job controller that moves Jobs through their conditions, and a
// kubelet that runs each pod's container on the real Docker engine.
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from './api-server.js';
import { Cluster, type NodeOptions } from './cluster.js';
import { ObjectStore, type KObject } from './store.js';

export type { KObject } from './store.js';

export interface KubernetesDoubleOptions {
  /** Namespaces the service account may use (403 elsewhere); default ['switchboard-test']. */
  namespaces?: string[];
  /** Docker network of the pods' containers (the pod network); default 'none'. */
  network?: string;
  capacity?: Partial<NodeOptions['capacity']>;
  bookmarkIntervalMs?: number;
}

export class KubernetesApiDouble {
  readonly store = new ObjectStore();
  readonly token = randomBytes(16).toString('hex');
  readonly namespace: string;
  private readonly cluster: Cluster;
  private readonly api: ApiServer;
  private dir?: string;
  url = '';

  private constructor(options: KubernetesDoubleOptions) {
    const namespaces = options.namespaces ?? ['switchboard-test'];
    this.namespace = namespaces[0]!;
    this.cluster = new Cluster(this.store, {
      docker: new Docker({ socketPath: '/var/run/docker.sock' }),
      network: options.network ?? 'none',
      capacity: { cpu: 4, memoryBytes: 8 * 1024 ** 3, ...options.capacity },
      runLabel: randomBytes(4).toString('hex'),
    });
    this.api = new ApiServer(
      this.store,
      { token: this.token, namespaces, bookmarkIntervalMs: options.bookmarkIntervalMs },
      (resource, o) => this.cluster.create(resource, o),
      (resource, o, opts) => this.cluster.delete(resource, o, opts),
    );
  }

  static async start(options: KubernetesDoubleOptions = {}): Promise<KubernetesApiDouble> {
    const double = new KubernetesApiDouble(options);
    double.url = await double.api.listen();
    return double;
  }

  /** A kubeconfig file for this double (what KUBECONFIG points at). */
  kubeconfigFile(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'sb-k8s-double-'));
    const file = join(this.dir, 'kubeconfig.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        // Plain HTTP on loopback: client-node accepts it only with TLS verification off.
        `- name: double\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
        'users:',
        `- name: switchboard\n  user:\n    token: ${this.token}`,
        'contexts:',
        `- name: double\n  context:\n    cluster: double\n    user: switchboard\n    namespace: ${this.namespace}`,
        'current-context: double',
        '',
      ].join('\n'),
    );
    return file;
  }

  get requests() {
    return this.api.requests;
  }

  jobs(): KObject[] {
    return this.store.list('jobs', this.namespace);
  }
  pods(): KObject[] {
    return this.store.list('pods', this.namespace);
  }
  secrets(): KObject[] {
    return this.store.list('secrets', this.namespace);
  }
  /** Forget the change history: watches and lists from older resourceVersions get 410 Gone. */
  compact(): void {
    this.store.compact();
  }
  /** Close every watch stream (an API server restart, say). */
  dropWatches(): void {
    this.api.dropWatches();
  }
  /** Keep every open watch stream open but silent (no events, no error): a watch whose peer died unnoticed. */
  muteWatches(): void {
    this.api.muteWatches();
  }
  watchCount(): number {
    return this.api.watchCount();
  }
  /** The next `verb` (create, delete, get, list…) on `resource` is answered with `code` instead of being done. */
  refuseNext(verb: string, resource: 'jobs' | 'pods' | 'secrets', code: number): void {
    this.api.refuseNext(verb, resource, code);
  }
  evict(podName: string): Promise<void> {
    return this.cluster.evict(this.namespace, podName);
  }

  async stop(): Promise<void> {
    await this.api.close();
    await this.cluster.close();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
