// An HTTP proxy on a unix socket in front of the real Docker engine that can
// hold back chosen requests: a test orders two clients' calls exactly (say,
// one start reaching the engine only after another one finished), where a
// race would otherwise decide. Everything else is forwarded as it comes,
// streamed both ways (a container's wait answers only at its exit).
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { rmSync } from 'node:fs';

export interface HeldRequest {
  method: string;
  path: string;
}

export interface DockerGate {
  socketPath: string;
  /** Resolves when a request matching `which` has arrived and is being held. */
  held(): Promise<HeldRequest>;
  /** Sends the held request on to the engine; resolves with the engine's status code. */
  release(): Promise<number>;
  close(): Promise<void>;
}

export async function startDockerGate(opts: {
  socketPath: string;
  engine?: string;
  hold: (method: string, path: string) => boolean;
}): Promise<DockerGate> {
  const engine = opts.engine ?? '/var/run/docker.sock';
  let arrived!: (r: HeldRequest) => void;
  const arrival = new Promise<HeldRequest>((resolve) => (arrived = resolve));
  let releaseHeld: (() => void) | undefined;
  let answered!: (code: number) => void;
  const answer = new Promise<number>((resolve) => (answered = resolve));
  let holding = true;

  const forward = (req: IncomingMessage, res: ServerResponse, onStatus?: (code: number) => void) => {
    const upstream = request({ socketPath: engine, method: req.method, path: req.url, headers: req.headers }, (up) => {
      onStatus?.(up.statusCode ?? 0);
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').replace(/^\/v[\d.]+/, '');
    if (holding && opts.hold(req.method ?? 'GET', path)) {
      holding = false;
      releaseHeld = () => forward(req, res, answered);
      arrived({ method: req.method ?? 'GET', path });
      return;
    }
    forward(req, res);
  });
  rmSync(opts.socketPath, { force: true });
  await new Promise<void>((resolve) => server.listen(opts.socketPath, resolve));

  return {
    socketPath: opts.socketPath,
    held: () => arrival,
    release() {
      releaseHeld?.();
      return answer;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(opts.socketPath, { force: true });
    },
  };
}
