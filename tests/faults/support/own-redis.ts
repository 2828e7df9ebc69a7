// A redis-server of a drill's own, as production runs it (AOF on, as in the
// compose file), that the drill may stop, start again or cut off: never the
// run's shared Redis. It listens on loopback and on the agents' network.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { agentNetworkGateway } from '../../support/agent-network.js';
import { freePort } from '../../support/free-port.js';

export interface OwnRedis {
  port: number;
  /** As the dispatcher reaches it. */
  url: string;
  /** As agents reach it (the host's address on their network). */
  agentUrl: string;
  start(): Promise<void>;
  /** A clean shutdown (SIGTERM): the AOF keeps the data, never the ACL users made at run time. */
  stop(): Promise<void>;
  running(): boolean;
  /** Stops it if it runs and removes its data. */
  remove(): Promise<void>;
}

export async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sb-drill-redis-'));
  let server: ChildProcess | undefined;
  const running = () => server !== undefined && server.exitCode === null && server.signalCode === null;
  const own: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    agentUrl: `redis://${agentNetworkGateway()}:${port}`,
    running,
    async start() {
      server = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          agentNetworkGateway(),
          '--protected-mode',
          'no',
          '--dir',
          dir,
          '--appendonly',
          'yes',
          '--save',
          '',
        ],
        { stdio: 'ignore' },
      );
      const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
      await probe.ping();
      probe.disconnect();
    },
    async stop() {
      const s = server;
      if (!s || !running()) return;
      await new Promise((resolve) => {
        s.once('exit', resolve);
        s.kill('SIGTERM');
      });
    },
    async remove() {
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  return own;
}
