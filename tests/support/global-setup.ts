// Starts one real redis-server for the whole test run (on a free port, no
// persistence) unless REDIS_URL already points at one. Tests isolate
// themselves with unique key prefixes.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';


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
        s.once('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING`);
}

export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) return;
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
    detached: true,
  });
  child.on('error', (err) => {
    throw new Error(`could not start redis-server (is it installed? apt-get install redis-server): ${err.message}`);
  });
  child.unref();
  // Shared with global-teardown.ts, which jest runs in this same process.
  (globalThis as { __SB_TEST_REDIS__?: number }).__SB_TEST_REDIS__ = child.pid;
  await waitForPing(port, Date.now() + 10_000);
  process.env.REDIS_URL = `redis://127.0.0.1:${port}`;
}
