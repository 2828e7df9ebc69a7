// Small HTTP helpers shared by the dashboard and the local chat page: route
// matching for the dispatcher's own listener (local mode), request bodies with
// a size cap, and responses that always carry the same protective headers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ErrorCode } from '../errors.js';
import type { HttpRoute } from '../observability/http-routes.js';
import type { Logger } from '../observability/logger.js';

/**
 * Pages load their scripts and styles from this origin only, never inline,
 * and may not be framed: whatever text slips through escaping cannot run.
 */
export const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
} as const;

export function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...PAGE_HEADERS, 'content-type': type, ...headers });
  res.end(body);
}

export const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), headers);

export const notFound = (res: ServerResponse): void => send(res, 404, 'text/plain; charset=utf-8', 'not found\n');

/** The named segments of a matched route (`/dashboard/jobs/:id` → { id }); Bolt's receivers set them too. */
export function paramsOf(req: IncomingMessage): Record<string, string> {
  return (req as IncomingMessage & { params?: Record<string, string> }).params ?? {};
}

export function queryOf(req: IncomingMessage): URLSearchParams {
  return new URL(req.url ?? '/', 'http://localhost').searchParams;
}

export class BodyTooLarge extends Error {
  readonly code = ErrorCode.HttpBodyTooLarge;
}

/** The request body as JSON, at most `limit` bytes; undefined when it is not JSON. */
export async function readJson(req: IncomingMessage, limit = 16 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge(`request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** `/a/:id/b` → a matcher returning the params, or undefined. Segments are decoded; `:x` matches one non-empty segment. */
export function compilePath(path: string): (pathname: string) => Record<string, string> | undefined {
  const want = path.split('/');
  return (pathname) => {
    const got = pathname.split('/');
    if (got.length !== want.length) return undefined;
    const params: Record<string, string> = {};
    for (const [i, w] of want.entries()) {
      const g = got[i] ?? '';
      if (w.startsWith(':')) {
        if (g === '') return undefined;
        try {
          params[w.slice(1)] = decodeURIComponent(g);
        } catch {
          return undefined;
        }
      } else if (w !== g) return undefined;
    }
    return params;
  };
}

export interface WebServer {
  server: Server;
  close(): Promise<void>;
}

/**
 * The dispatcher's own HTTP listener, for SLACK_MODE=local (in the Slack modes
 * Bolt's receiver serves the same routes). Unknown paths are 404, a known path
 * with another method 405.
 */
export async function startWebServer(opts: { port: number; host: string; routes: HttpRoute[]; logger: Logger }): Promise<WebServer> {
  const routes = opts.routes.map((r) => ({ ...r, match: compilePath(r.path), methods: r.method.map((m) => m.toUpperCase()) }));
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    let known = false;
    for (const r of routes) {
      const params = r.match(pathname);
      if (!params) continue;
      known = true;
      if (!r.methods.includes(req.method ?? 'GET')) continue;
      Object.assign(req, { params });
      try {
        r.handler(req, res);
      } catch (err) {
        opts.logger.error({ err, path: pathname }, 'web request failed');
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else res.destroy();
      }
      return;
    }
    if (known) send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    else notFound(res);
  });
  // Server-Sent Events connections stay open: closing the server must not wait for them.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Wraps an async handler: a failure is logged and answered with 500 (or ends a stream already under way). */
export function handled(
  logger: Logger,
  what: string,
  fn: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    fn(req, res).catch((err: unknown) => {
      if (err instanceof BodyTooLarge) return send(res, 413, 'text/plain; charset=utf-8', 'request body too large\n');
      logger.error({ err, path: req.url?.split('?')[0] }, `${what} failed`);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * True when the request names this machine in its Host header. Pages open
 * without a token (local mode) answer only such requests, so a web page on
 * another origin cannot reach them by pointing its own name at 127.0.0.1
 * (DNS rebinding).
 */
export function isLoopbackHost(req: IncomingMessage): boolean {
  const host = (req.headers.host ?? '').toLowerCase();
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return LOOPBACK_HOSTS.has(name ?? '');
}
