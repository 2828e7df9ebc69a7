// The double's etcd: objects by resource, one resourceVersion counter for all
// of them (as the real API server has), and a bounded history of changes that
// watches replay from. compact() forgets the history, so a watch or a list
// from an older resourceVersion gets 410 Gone, as after etcd compaction.
import { randomUUID } from 'node:crypto';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  [key: string]: unknown;
}

/** A Kubernetes object as stored: typed where the double reads it, open elsewhere. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  // Spec, status and data differ by kind; the double reads them through small helpers.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any;
  [key: string]: unknown;
}

export type Resource = 'jobs' | 'pods' | 'secrets';
export type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  rv: number;
  resource: Resource;
  type: WatchType;
  object: KObject;
}

type Listener = (change: Change) => void;

const clone = <T>(o: T): T => structuredClone(o);

export class ObjectStore {
  private rv = 100;
  private readonly objects = new Map<string, KObject>();
  private history: Change[] = [];
  /** Oldest resourceVersion a watch may resume from. */
  private horizon = 100;
  private readonly listeners = new Set<Listener>();

  constructor(private readonly historyLimit = 5000) {}

  currentVersion(): number {
    return this.rv;
  }

  /** True when changes after `rv` are still known (no 410 needed). */
  canResumeFrom(rv: number): boolean {
    return rv >= this.horizon;
  }

  /**
   * Forgets the history and moves the version on, so every resourceVersion
   * handed out so far is too old (as after compaction or an API server restart
   * whose watch cache starts afresh); lists from now on give a usable one.
   */
  compact(): void {
    this.history = [];
    this.rv += 1;
    this.horizon = this.rv;
  }

  get(resource: Resource, namespace: string, name: string): KObject | undefined {
    const o = this.objects.get(key(resource, namespace, name));
    return o && clone(o);
  }

  list(resource: Resource, namespace: string): KObject[] {
    const prefix = `${resource}/${namespace}/`;
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).map(([, o]) => clone(o));
  }

  /** Every object of a resource in every namespace (the controllers' view). */
  all(resource: Resource): KObject[] {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${resource}/`)).map(([, o]) => clone(o));
  }

  changesSince(rv: number): Change[] {
    return this.history.filter((c) => c.rv > rv).map(clone);
  }

  create(resource: Resource, object: KObject): KObject {
    const meta = object.metadata;
    const k = key(resource, meta.namespace ?? '', meta.name);
    if (this.objects.has(k)) throw new Error(`exists: ${k}`);
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (resource === 'jobs') meta.generation = 1;
    return this.write(resource, 'ADDED', object);
  }

  /** Replaces an object with a changed copy; the mutator gets a private copy. */
  update(resource: Resource, namespace: string, name: string, mutate: (o: KObject) => void): KObject | undefined {
    const current = this.objects.get(key(resource, namespace, name));
    if (!current) return undefined;
    const next = clone(current);
    mutate(next);
    return this.write(resource, 'MODIFIED', next);
  }

  remove(resource: Resource, namespace: string, name: string): KObject | undefined {
    const k = key(resource, namespace, name);
    const current = this.objects.get(k);
    if (!current) return undefined;
    this.objects.delete(k);
    this.rv += 1;
    const gone = clone(current);
    gone.metadata.resourceVersion = String(this.rv);
    this.record({ rv: this.rv, resource, type: 'DELETED', object: gone });
    return clone(gone);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private write(resource: Resource, type: WatchType, object: KObject): KObject {
    this.rv += 1;
    object.metadata.resourceVersion = String(this.rv);
    this.objects.set(key(resource, object.metadata.namespace ?? '', object.metadata.name), clone(object));
    this.record({ rv: this.rv, resource, type, object: clone(object) });
    return clone(object);
  }

  private record(change: Change): void {
    this.history.push(change);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.horizon = dropped[dropped.length - 1]!.rv;
    }
    for (const l of this.listeners) l(clone(change));
  }
}

const key = (resource: Resource, namespace: string, name: string) => `${resource}/${namespace}/${name}`;

/** labelSelector as the API server reads it: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`. */
export function parseLabelSelector(selector: string | null): (labels: Record<string, string> | undefined) => boolean {
  if (!selector) return () => true;
  const terms: ((l: Record<string, string>) => boolean)[] = [];
  // Split on commas outside parentheses.
  const parts = selector.match(/(?:[^,(]|\([^)]*\))+/g) ?? [];
  for (const raw of parts) {
    const part = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/))) {
      const [, k, op, v] = m as [string, string, string, string];
      terms.push(op === '!=' ? (l) => l[k] !== v : (l) => l[k] === v);
    } else if ((m = part.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const [, k, op, list] = m as [string, string, string, string];
      const values = new Set(list.split(',').map((s) => s.trim()));
      terms.push(op === 'in' ? (l) => l[k] !== undefined && values.has(l[k]) : (l) => l[k] === undefined || !values.has(l[k]));
    } else if ((m = part.match(/^!([\w./-]+)$/))) {
      const k = m[1]!;
      terms.push((l) => !(k in l));
    } else if ((m = part.match(/^([\w./-]+)$/))) {
      const k = m[1]!;
      terms.push((l) => k in l);
    } else {
      throw new SelectorError(`unable to parse requirement: ${part}`);
    }
  }
  return (labels) => terms.every((t) => t(labels ?? {}));
}

export class SelectorError extends Error {}
