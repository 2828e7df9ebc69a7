// The HTTP face of the double: the paths, verbs, query parameters and answers
// of the Kubernetes API for exactly what the spawner uses (batch/v1 jobs,
// core/v1 pods and secrets in a namespace), including watch streams.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ObjectStore, parseLabelSelector, SelectorError, type Change, type KObject, type Resource } from './store.js';
import { failure, success, type StatusBody } from './status.js';
import { invalidObject } from './validation.js';

export interface ApiServerOptions {
  /** Bearer token clients must send. */
  token: string;
  /** Namespaces the token may use; every other one answers 403. */
  namespaces: string[];
  /** Interval of BOOKMARK events on watches that ask for them. */
  bookmarkIntervalMs?: number;
}

const ROUTES: { re: RegExp; resource: Resource; apiVersion: string; kind: string }[] = [
  { re: /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs(?:\/([^/]+))?$/, resource: 'jobs', apiVersion: 'batch/v1', kind: 'Job' },
  { re: /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?$/, resource: 'pods', apiVersion: 'v1', kind: 'Pod' },
  { re: /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/, resource: 'secrets', apiVersion: 'v1', kind: 'Secret' },
];
const GROUP: Record<Resource, string> = { jobs: 'batch', pods: '', secrets: '' };

export type DeleteHandler = (
  resource: Resource,
  object: KObject,
  options: { propagationPolicy: string; gracePeriodSeconds?: number },
) => StatusBody | KObject;

export class ApiServer {
  private server?: Server;
  private readonly openWatches = new Set<ServerResponse>();
  /** Watches kept open that no longer get events (a silent stream). */
  private readonly mutedWatches = new Set<ServerResponse>();
  /** Requests seen, for tests that check what a client asked. */
  readonly requests: { method: string; path: string; query: Record<string, string> }[] = [];
  /** Refusals a test asked for, each answered once to the next matching request (an admission webhook or etcd hiccup). */
  private readonly refusals: { verb: string; resource: Resource; code: number }[] = [];

  constructor(
    readonly store: ObjectStore,
    private readonly options: ApiServerOptions,
    private readonly onCreate: (resource: Resource, object: KObject) => KObject,
    private readonly onDelete: DeleteHandler,
  ) {}

  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Ends every open watch stream, as an API server restart or a load balancer would. */
  dropWatches(): void {
    for (const res of this.openWatches) res.end();
    this.openWatches.clear();
  }

  /** Keeps every open watch stream open but sends nothing more on it, as a dead peer's connection would. */
  muteWatches(): void {
    for (const res of this.openWatches) this.mutedWatches.add(res);
  }

  watchCount(): number {
    return this.openWatches.size;
  }

  /** The next `verb` on `resource` answers `code` (a Status, as the API server does) instead of acting. */
  refuseNext(verb: string, resource: Resource, code: number): void {
    this.refusals.push({ verb, resource, code });
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query });
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const sendStatus = (s: StatusBody) => send(s.code, s);
    try {
      if (req.headers.authorization !== `Bearer ${this.options.token}`) return sendStatus(failure(401, 'Unauthorized'));
      if (url.pathname === '/version')
        return send(200, { major: '1', minor: '33', gitVersion: 'v1.33.0-switchboard-double', platform: 'linux/amd64' });
      const route = ROUTES.find((r) => r.re.test(url.pathname));
      if (!route) return sendStatus(failure(404, 'the server could not find the requested resource'));
      const [, namespace, name] = url.pathname.match(route.re)! as [string, string, string | undefined];
      const { resource } = route;
      const qualified = GROUP[resource] ? `${resource}.${GROUP[resource]}` : resource;
      const verb = verbOf(req.method ?? 'GET', name, query);
      if (!this.options.namespaces.includes(namespace)) {
        return sendStatus(
          failure(
            403,
            `${qualified} is forbidden: User "system:serviceaccount:switchboard:switchboard" cannot ${verb} resource "${resource}" in API group "${GROUP[resource]}" in the namespace "${namespace}"`,
            {
              kind: resource,
              group: GROUP[resource] || undefined,
              name,
            },
          ),
        );
      }
      const refusal = this.refusals.findIndex((r) => r.verb === verb && r.resource === resource);
      if (refusal >= 0) {
        const { code } = this.refusals.splice(refusal, 1)[0]!;
        return sendStatus(
          failure(code, `Internal error occurred: ${verb} ${qualified} refused by the test`, {
            name,
            group: GROUP[resource] || undefined,
            kind: resource,
          }),
        );
      }
      const notFound = () =>
        failure(404, `${qualified} "${name}" not found`, { name, group: GROUP[resource] || undefined, kind: resource });
      switch (verb) {
        case 'watch':
          return this.watch(res, route, namespace, query);
        case 'list': {
          const matches = parseLabelSelector(query.labelSelector ?? null);
          const items = this.store.list(resource, namespace).filter((o) => matches(o.metadata.labels));
          return send(200, {
            apiVersion: route.apiVersion,
            kind: `${route.kind}List`,
            metadata: { resourceVersion: String(this.store.currentVersion()) },
            items,
          });
        }
        case 'get': {
          const o = this.store.get(resource, namespace, name!);
          return o ? send(200, o) : sendStatus(notFound());
        }
        case 'create': {
          if (name) return sendStatus(failure(405, 'the server does not allow this method on the requested resource'));
          if (!String(req.headers['content-type'] ?? '').includes('json'))
            return sendStatus(
              failure(415, `the body of the request was in an unknown format - accepted media types include: application/json`),
            );
          const body = JSON.parse(await readBody(req)) as KObject;
          if (body?.metadata && body.metadata.namespace && body.metadata.namespace !== namespace) {
            return sendStatus(failure(400, 'the namespace of the provided object does not match the namespace sent on the request'));
          }
          const invalid = invalidObject(resource, body);
          if (invalid) return sendStatus(invalid);
          body.metadata.namespace = namespace;
          if (this.store.get(resource, namespace, body.metadata.name)) {
            return sendStatus(
              failure(409, `${qualified} "${body.metadata.name}" already exists`, {
                name: body.metadata.name,
                group: GROUP[resource] || undefined,
                kind: resource,
              }),
            );
          }
          return send(201, this.onCreate(resource, body));
        }
        case 'delete': {
          const o = this.store.get(resource, namespace, name!);
          if (!o) return sendStatus(notFound());
          const raw = await readBody(req);
          const opts = raw
            ? (JSON.parse(raw) as { propagationPolicy?: string; gracePeriodSeconds?: number; preconditions?: { uid?: string } })
            : {};
          const wantUid = opts.preconditions?.uid;
          if (wantUid && wantUid !== o.metadata.uid) {
            return sendStatus(
              failure(
                409,
                `Precondition failed: UID in precondition: ${wantUid}, UID in object meta: ${o.metadata.uid}`,
                { name: name!, group: GROUP[resource] || undefined, kind: resource },
                'Conflict',
              ),
            );
          }
          const propagationPolicy = query.propagationPolicy ?? opts.propagationPolicy ?? (resource === 'jobs' ? 'Orphan' : 'Background');
          const grace = query.gracePeriodSeconds ?? opts.gracePeriodSeconds;
          const result = this.onDelete(resource, o, {
            propagationPolicy,
            gracePeriodSeconds: grace === undefined ? undefined : Number(grace),
          });
          return result.kind === 'Status' ? sendStatus(result as StatusBody) : send(200, result);
        }
        default:
          return sendStatus(failure(405, 'the server does not allow this method on the requested resource'));
      }
    } catch (err) {
      if (err instanceof SelectorError) return sendStatus(failure(400, err.message));
      if (err instanceof SyntaxError) return sendStatus(failure(400, `the request body is not JSON: ${err.message}`));
      return sendStatus(failure(500, `double error: ${(err as Error).message}`, undefined, 'InternalError'));
    }
  }

  private watch(res: ServerResponse, route: (typeof ROUTES)[number], namespace: string, query: Record<string, string>): void {
    const matches = parseLabelSelector(query.labelSelector ?? null);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // Headers go out at once, as the real server's do: a client waits for them before reading events.
    res.flushHeaders();
    const write = (type: string, object: unknown) => this.mutedWatches.has(res) || res.write(`${JSON.stringify({ type, object })}\n`);
    const from = query.resourceVersion;
    if (from && from !== '0' && !this.store.canResumeFrom(Number(from))) {
      write('ERROR', failure(410, `too old resource version: ${from} (${this.store.currentVersion()})`));
      res.end();
      return;
    }
    const relevant = (c: Change) =>
      c.resource === route.resource && c.object.metadata.namespace === namespace && matches(c.object.metadata.labels);
    if (!from || from === '0') {
      for (const o of this.store.list(route.resource, namespace)) if (matches(o.metadata.labels)) write('ADDED', o);
    } else {
      for (const c of this.store.changesSince(Number(from))) if (relevant(c)) write(c.type, c.object);
    }
    const unsubscribe = this.store.subscribe((c) => relevant(c) && write(c.type, c.object));
    const bookmarks =
      query.allowWatchBookmarks === 'true'
        ? setInterval(
            () =>
              write('BOOKMARK', {
                kind: route.kind,
                apiVersion: route.apiVersion,
                metadata: { resourceVersion: String(this.store.currentVersion()) },
              }),
            this.options.bookmarkIntervalMs ?? 1000,
          )
        : undefined;
    const timeout = query.timeoutSeconds ? setTimeout(() => res.end(), Number(query.timeoutSeconds) * 1000) : undefined;
    this.openWatches.add(res);
    res.on('close', () => {
      unsubscribe();
      clearInterval(bookmarks);
      clearTimeout(timeout);
      this.openWatches.delete(res);
      this.mutedWatches.delete(res);
    });
  }
}

function verbOf(method: string, name: string | undefined, query: Record<string, string>): string {
  if (method === 'GET') return name ? 'get' : query.watch === 'true' || query.watch === '1' ? 'watch' : 'list';
  if (method === 'POST') return 'create';
  if (method === 'DELETE') return name ? 'delete' : 'deletecollection';
  return method.toLowerCase();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export { success };
