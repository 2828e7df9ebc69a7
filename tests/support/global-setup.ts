// Starts one real redis-server for the whole test run (on a free port, no
// persistence) unless REDIS_URL already points at one, set up as production
// should be: the `default` user off, the dispatcher's own user with a password.
// Tests isolate themselves with unique key prefixes.
//
// Agents run on a network of their own (never `host`): this creates one per
// run, and Redis also listens on that network's gateway, the host's address
// there, which is how agents reach it (REDIS_AGENT_URL). The dispatchers
// under test bind 127.0.0.1 (LISTEN_HOST), so agents cannot reach their PORT.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPing(port: number, deadline: number): Promise<void> {
  const { Socket } = await import('node:net');
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1', () => {
        s.write('PING\r\n');
        // With `default` off, an unauthenticated PING is answered NOAUTH: the server is up.
        s.once('data', (d) => {
          s.destroy();
          resolve(/^(\+PONG|-NOAUTH)/.test(d.toString()));
        });
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING`);
}

/** The gateway address of a bridge network (the host as its containers see it), creating the network if missing. */
async function agentNetworkGateway(docker: Docker, name: string): Promise<string> {
  let info;
  try {
    info = await docker.getNetwork(name).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { 'switchboard.test': 'agent-network' } });
    info = await docker.getNetwork(name).inspect();
  }
  const gateway = (info as { IPAM?: { Config?: { Gateway?: string }[] } }).IPAM?.Config?.[0]?.Gateway;
  if (!gateway) throw new Error(`network ${name} has no IPv4 gateway`);
  return gateway;
}

export default async function globalSetup(): Promise<void> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const network = process.env.SB_TEST_AGENT_NETWORK ?? `sbtest-agents-${randomBytes(4).toString('hex')}`;
  const gateway = await agentNetworkGateway(docker, network);
  process.env.SB_TEST_AGENT_NETWORK = network;
  if (process.env.REDIS_URL) {
    if (!process.env.REDIS_AGENT_URL)
      throw new Error('REDIS_URL is set: set REDIS_AGENT_URL too (that Redis as agents reach it from the agent network)');
    return;
  }
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', gateway, '--save', '', '--appendonly', 'no', ...redisUserArgs(password)],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  child.on('error', (err) => {
    throw new Error(`could not start redis-server (is it installed? apt-get install redis-server): ${err.message}`);
  });
  child.unref();
  // Shared with global-teardown.ts, which jest runs in this same process.
  (globalThis as { __SB_TEST_REDIS__?: number }).__SB_TEST_REDIS__ = child.pid;
  await waitForPing(port, Date.now() + 10_000);
  process.env.REDIS_URL = `redis://sbtest:${password}@127.0.0.1:${port}`;
  process.env.REDIS_AGENT_URL = `redis://${gateway}:${port}`;
}

/** redis-server arguments for production-like users: the dispatcher's (full rights, a password) and `default` off. */
export function redisUserArgs(password: string): string[] {
  return ['--user', 'sbtest', 'on', `>${password}`, '~*', '&*', '+@all', '--user', 'default', 'off'];
}
