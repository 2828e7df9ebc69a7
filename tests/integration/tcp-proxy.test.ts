// The fault drills' proxy (tests/support/tcp-proxy.ts) does what the drills
// rely on: it forwards to a real Redis, a 'reset' cut fails clients at once,
// a 'blackhole' cut leaves them hanging, and after restore() they reconnect.
import { Redis } from 'ioredis';
import { redisUrl } from '../support/redis.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

describe('the drills’ TCP proxy, in front of the test Redis', () => {
  let proxy: TcpProxy;
  let client: Redis;

  beforeEach(async () => {
    const target = new URL(redisUrl());
    proxy = await startTcpProxy({ listen: { host: '127.0.0.1', port: 0 }, target: { host: target.hostname, port: Number(target.port) } });
    const through = new URL(redisUrl());
    through.host = proxy.address;
    client = new Redis(through.toString(), { maxRetriesPerRequest: 1, retryStrategy: () => 100, commandTimeout: 500 });
  });

  afterEach(async () => {
    client.disconnect();
    await proxy.close();
  });

  test('forwards, fails clients at once when reset, and lets them back in when restored', async () => {
    expect(await client.ping()).toBe('PONG');
    expect(proxy.connections).toBe(1);
    proxy.cut('reset');
    await expect(client.ping()).rejects.toThrow();
    proxy.restore();
    await expect(waitForPong(client)).resolves.toBe('PONG');
    expect(proxy.connections).toBeGreaterThan(1);
  });

  test('a blackhole answers nothing (the client times out) until restored', async () => {
    expect(await client.ping()).toBe('PONG');
    proxy.cut('blackhole');
    await expect(client.ping()).rejects.toThrow(/timed out/i);
    proxy.restore();
    await expect(waitForPong(client)).resolves.toBe('PONG');
  });
});

async function waitForPong(client: Redis): Promise<string> {
  for (let i = 0; i < 50; i++) {
    try {
      return await client.ping();
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return 'no PONG in 5 s';
}
