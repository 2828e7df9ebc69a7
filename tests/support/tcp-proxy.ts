// A byte-for-byte proxy that a fault drill can cut: in front of Redis (TCP) or
// the Docker engine (a unix socket), so a real client loses its server while
// the server itself keeps running. `cut('reset')` destroys every connection and
// refuses new ones at once (a crashed peer); `cut('blackhole')` keeps accepting
// but forwards nothing and answers nothing (a partition: clients hang until
// their own timeouts). `restore()` forwards again; old connections stay dead.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

export type Endpoint = { host: string; port: number } | { path: string };
export type CutMode = 'reset' | 'blackhole';

export interface TcpProxy {
  /** Where clients connect: `{host, port}` (port chosen when 0 was asked) or `{path}`. */
  listen: Endpoint;
  /** `redis://…` style "host:port", for TCP proxies. */
  address: string;
  /** Connections forwarded so far (a drill can check its client came through the proxy). */
  readonly connections: number;
  cut(mode?: CutMode): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP peer gets an RST; a unix socket has none (resetAndDestroy throws "This handle type cannot be sent"): it is closed. */
const reset = (socket: Socket) =>
  socket.remoteAddress === undefined && socket.localAddress === undefined ? socket.destroy() : socket.resetAndDestroy();

export async function startTcpProxy(opts: { listen: Endpoint; target: Endpoint }): Promise<TcpProxy> {
  const live = new Set<Socket>();
  let mode: CutMode | undefined;
  let connections = 0;

  const server: Server = createServer((client) => {
    live.add(client);
    client.on('close', () => live.delete(client));
    client.on('error', () => client.destroy());
    if (mode === 'reset') return void reset(client);
    if (mode === 'blackhole') return void client.pause(); // accepted, never answered
    connections++;
    const upstream = connect('path' in opts.target ? { path: opts.target.path } : { host: opts.target.host, port: opts.target.port });
    live.add(upstream);
    upstream.on('close', () => {
      live.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });

  if ('path' in opts.listen) rmSync(opts.listen.path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('path' in opts.listen) server.listen(opts.listen.path, () => resolve());
    else server.listen(opts.listen.port, opts.listen.host, () => resolve());
  });
  const bound = server.address();
  const listen: Endpoint =
    'path' in opts.listen
      ? opts.listen
      : { host: opts.listen.host, port: typeof bound === 'object' && bound ? bound.port : opts.listen.port };

  return {
    listen,
    address: 'path' in listen ? listen.path : `${listen.host}:${listen.port}`,
    get connections() {
      return connections;
    },
    cut(cutMode: CutMode = 'reset') {
      mode = cutMode;
      for (const socket of live) {
        if (cutMode === 'reset') reset(socket);
        else {
          // A partition: nothing flows either way; the peers find out by their own timeouts.
          socket.unpipe();
          socket.pause();
        }
      }
    },
    restore() {
      // Connections from the partition are dead to both sides: close them so clients reconnect.
      for (const socket of live) socket.destroy();
      mode = undefined;
    },
    async close() {
      for (const socket of live) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if ('path' in listen) rmSync(listen.path, { force: true });
    },
  };
}
