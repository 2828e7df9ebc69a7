import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { healthRoutes, readiness, type ReadinessCheck } from '../../../src/observability/http-routes.js';
import { Metrics } from '../../../src/observability/metrics.js';

const ok = (name: string): ReadinessCheck => ({ name, check: async () => undefined });
const failing = (name: string, reason: string): ReadinessCheck => ({
  name,
  check: async () => {
    throw new Error(reason);
  },
});
const hanging = (name: string): ReadinessCheck => ({ name, check: () => new Promise<void>(() => undefined) });

describe('readiness', () => {
  test('ready when every check passes', async () => {
    expect(await readiness([ok('redis'), ok('docker')])).toEqual({ ready: true, problems: [] });
  });

  test('ready with no checks at all', async () => {
    expect(await readiness([])).toEqual({ ready: true, problems: [] });
  });

  test('a failing check is named with its reason; the passing ones are not mentioned', async () => {
    const result = await readiness([ok('redis'), failing('docker', 'connect ENOENT /var/run/docker.sock')]);
    expect(result).toEqual({ ready: false, problems: ['docker: connect ENOENT /var/run/docker.sock'] });
  });

  test('every failing check is reported, in order', async () => {
    const result = await readiness([failing('redis', 'ECONNREFUSED 127.0.0.1:6379'), ok('queue'), failing('docker', 'permission denied')]);
    expect(result.problems).toEqual(['redis: ECONNREFUSED 127.0.0.1:6379', 'docker: permission denied']);
  });

  test('a check that never answers is reported as not answering (takes the 3 s timeout)', async () => {
    const result = await readiness([ok('redis'), hanging('kubernetes')]);
    expect(result.ready).toBe(false);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(/^kubernetes: no answer within \d+ ms$/);
  }, 15_000);
});

describe('healthRoutes over HTTP', () => {
  let server: Server | undefined;

  afterEach(async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  async function serve(checks: ReadinessCheck[]): Promise<string> {
    const routes = healthRoutes(checks, new Metrics());
    const s = createServer((req, res) => {
      const route = routes.find((r) => r.path === req.url && r.method.includes(req.method ?? ''));
      if (route) route.handler(req, res);
      else res.writeHead(404).end();
    });
    server = s;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }

  const get = async (url: string) => {
    const res = await fetch(url, { headers: { connection: 'close' } });
    return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
  };

  test('/healthz answers 200 ok', async () => {
    const base = await serve([failing('redis', 'down')]);
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
  });

  test('/readyz answers 200 when ready, naming what it checked (the spawner among them)', async () => {
    const base = await serve([ok('redis'), ok('spawner (kubernetes)')]);
    expect(await get(`${base}/readyz`)).toMatchObject({ status: 200, body: 'ready: redis, spawner (kubernetes)\n' });
  });

  test('/readyz answers 503 naming each problem', async () => {
    const base = await serve([failing('redis', 'ECONNREFUSED'), ok('docker')]);
    const res = await get(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(res.body).toContain('- redis: ECONNREFUSED');
    expect(res.body).not.toContain('docker');
  });

  test('/metrics serves the Prometheus text format with Switchboard counters', async () => {
    const base = await serve([]);
    const res = await get(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/text\/plain/);
    expect(res.body).toContain('switchboard_jobs_requested_total');
  });
});
