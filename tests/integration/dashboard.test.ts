// The job dashboard on a real Redis and in a real browser: who may open it,
// what it lists, the live log tail over Server-Sent Events, and that text
// from users and agents stays text.
import { jest } from '@jest/globals';
import { get as httpGet } from 'node:http';
import { Redis } from 'ioredis';
import type { Browser } from 'puppeteer-core';
import { keys as keysFor } from '../../src/domain/keys.js';
import { newJobId } from '../../src/domain/job-id.js';
import type { JobRecord } from '../../src/domain/job.js';
import { JobStore } from '../../src/state/job-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { startWebServer, type WebServer } from '../../src/web/http.js';
import { dashboardAccess, DASHBOARD_COOKIE } from '../../src/dashboard/dashboard-access.js';
import { DashboardData } from '../../src/dashboard/dashboard-data.js';
import { dashboardRoutes } from '../../src/dashboard/dashboard-routes.js';
import { JobEventStreams } from '../../src/dashboard/job-event-stream.js';
import type { QueuedJobData } from '../../src/jobs/job-queue.js';
import { aJob } from '../support/jobs.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import type { GpuQueueView } from '../../src/inference/gpu-queue.js';
import { launchBrowser, waitForData, waitForExactText, waitForText, watchPageErrors } from '../support/browser.js';

jest.setTimeout(60_000);

const TOKEN = 'dashboard-token-0123456789abcdef';
const EVIL = '<img src=x onerror="document.title=\'owned\'">';
const logger = createLogger('silent');

let redis: Redis;
const prefix = uniquePrefix();
const k = keysFor(prefix);
const store = () => new JobStore(redis, k);
let waiting: QueuedJobData[] = [];

async function serve(
  mode: string,
  token?: string,
  gpuQueue?: GpuQueueView,
): Promise<{ server: WebServer; base: string; streams: JobEventStreams }> {
  const streams = new JobEventStreams({ redis, keys: k, store: store(), logger, blockMs: 200 });
  const routes = dashboardRoutes({
    access: dashboardAccess(mode, token),
    data: new DashboardData({ redis, keys: k, store: store(), waiting: async () => waiting, ...(gpuQueue ? { gpuQueue } : {}) }),
    streams,
    logger,
  });
  const server = await startWebServer({ port: 0, host: '127.0.0.1', routes, logger });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { server, base: `http://127.0.0.1:${address.port}`, streams };
}

const addEvent = (jobId: string, body: Record<string, unknown>) =>
  redis.xadd(k.jobEvents(jobId), '*', 'e', JSON.stringify({ v: 1, jobId, seq: 0, ts: Date.now(), ...body }));

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  await deleteKeys(redis, `${prefix}*`);
  await redis.quit();
});

describe('who may open the dashboard', () => {
  test('outside local mode without DASHBOARD_TOKEN it does not exist', async () => {
    const { server, base } = await serve('socket');
    try {
      for (const path of ['/dashboard', '/dashboard/api/overview', '/dashboard/assets/dashboard.js', `/dashboard/jobs/${newJobId()}`]) {
        expect((await fetch(`${base}${path}`)).status).toBe(404);
      }
    } finally {
      await server.close();
    }
  });

  test('with DASHBOARD_TOKEN: bearer, or ?token= once which sets a cookie without the token in it', async () => {
    const { server, base } = await serve('http', TOKEN);
    try {
      const denied = await fetch(`${base}/dashboard/api/overview`);
      expect(denied.status).toBe(401);
      expect(await denied.text()).not.toContain(TOKEN);
      expect((await fetch(`${base}/dashboard/api/overview`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(
        401,
      );
      expect((await fetch(`${base}/dashboard?token=wrong-token-wrong-token`, { redirect: 'manual' })).status).toBe(401);
      expect((await fetch(`${base}/dashboard/api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);

      const login = await fetch(`${base}/dashboard?token=${TOKEN}`, { redirect: 'manual' });
      expect(login.status).toBe(303);
      expect(login.headers.get('location')).toBe('/dashboard');
      const cookie = login.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(new RegExp(`^${DASHBOARD_COOKIE}=[0-9a-f]{64}; Path=/dashboard; HttpOnly; SameSite=Strict`));
      expect(cookie).not.toContain(TOKEN);
      const withCookie = await fetch(`${base}/dashboard`, { headers: { cookie: cookie.split(';')[0]! } });
      expect(withCookie.status).toBe(200);
      expect(withCookie.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect((await fetch(`${base}/dashboard`, { headers: { cookie: `${DASHBOARD_COOKIE}=${'0'.repeat(64)}` } })).status).toBe(401);
    } finally {
      await server.close();
    }
  });

  test('in local mode it needs no token but answers only requests addressed to localhost', async () => {
    const { server, base } = await serve('local');
    try {
      expect((await fetch(`${base}/dashboard/api/overview`)).status).toBe(200);
      // fetch() may not set Host: a DNS-rebinding page's requests carry its own name.
      const status = await new Promise<number | undefined>((resolve, reject) =>
        httpGet(`${base}/dashboard/api/overview`, { headers: { host: 'evil.example:3000' } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        }).on('error', reject),
      );
      expect(status).toBe(403);
    } finally {
      await server.close();
    }
  });
});

describe('what the dashboard shows', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser.close();
  });

  test('running, queued and finished jobs, with text from users and agents kept as text', async () => {
    const now = Date.now();
    const running: JobRecord = aJob({
      id: newJobId(),
      state: 'running',
      createdAt: now - 60_000,
      startedAt: now - 50_000,
      step: 2,
      totalSteps: 3,
      stepName: 'run agent',
      stepText: EVIL,
      promptTokens: 1200,
      completionTokens: 300,
      request: `fix #58 in billing-api ${EVIL}`,
    });
    const queued: JobRecord = aJob({ id: newJobId(), state: 'queued', channel: 'C0QUEUED', createdAt: now - 5000 });
    const done: JobRecord = aJob({
      id: newJobId(),
      state: 'done',
      createdAt: now - 600_000,
      startedAt: now - 590_000,
      finishedAt: now - 500_000,
      summary: `Fixed it ${EVIL}`,
      prUrl: 'https://oauth2:SECRET@github.com/acme/billing-api/pull/9',
    });
    for (const j of [running, queued, done]) await store().save(j);
    waiting = [{ jobId: queued.id, channel: queued.channel }];

    const { server, base } = await serve('local');
    const page = await browser.newPage();
    const errors = watchPageErrors(page);
    try {
      const overview = (await (await fetch(`${base}/dashboard/api/overview`)).json()) as {
        running: { id: string }[];
        queued: { id: string; queuePosition: number }[];
        finished: { id: string; prUrl: string }[];
      };
      expect(overview.running.map((j) => j.id)).toContain(running.id);
      expect(overview.queued.find((j) => j.id === queued.id)?.queuePosition).toBe(1);
      expect(overview.finished.find((j) => j.id === done.id)?.prUrl).toBe('https://github.com/acme/billing-api/pull/9');
      expect(JSON.stringify(overview)).not.toContain('SECRET');

      await page.goto(`${base}/dashboard`);
      await page.waitForSelector(`#running tr[data-job-id="${running.id}"]`);
      await page.waitForSelector(`#queued tr[data-job-id="${queued.id}"]`);
      await page.waitForSelector(`#finished tr[data-job-id="${done.id}"]`);
      const runningRow = await page.$eval(`#running tr[data-job-id="${running.id}"]`, (tr) => tr.textContent);
      expect(runningRow).toContain('2/3 run agent');
      expect(runningRow).toContain('1,500 tokens');
      const finishedRow = await page.$eval(`#finished tr[data-job-id="${done.id}"]`, (tr) => tr.textContent);
      expect(finishedRow).toContain(`Fixed it ${EVIL}`);
      expect(await page.$$('img')).toHaveLength(0);
      expect(await page.title()).not.toBe('owned');

      // A refresh keeps the rows' links the same elements: a click is never swallowed by it.
      const link = await page.$(`#finished tr[data-job-id="${done.id}"] a`);
      const updated = await page.$eval('#updated', (e) => e.textContent ?? '');
      await page.waitForFunction(`document.querySelector('#updated').textContent !== ${JSON.stringify(updated)}`);
      expect(await link!.evaluate((a) => a.isConnected)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await server.close();
    }
  });

  test('the GPU queue: who holds a slot and who waits, from the inference router; "no local inference" without it', async () => {
    const gpu: GpuQueueView = {
      entries: async () => [
        { jobId: 'jrunning0001', model: 'qwen2.5-coder:32b', state: 'running', since: Date.now() - 4000, endpoint: 'http://ollama:11434' },
        { jobId: 'jwaiting0002', model: `qwen2.5-coder:32b ${EVIL}`, state: 'waiting', since: Date.now() - 1000 },
      ],
    };
    const withGpu = await serve('local', undefined, gpu);
    const without = await serve('local');
    const page = await browser.newPage();
    try {
      await page.goto(`${withGpu.base}/dashboard`);
      await page.waitForSelector('#gpu-queue tbody tr:nth-child(2)');
      const rows = await page.$$eval('#gpu-queue tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
      expect(rows[0]).toContain('running');
      expect(rows[0]).toContain('jrunning0001');
      expect(rows[0]).toContain('http://ollama:11434');
      expect(rows[1]).toContain('waiting');
      expect(rows[1]).toContain(EVIL);
      expect(await page.$$('img')).toHaveLength(0);
      expect(await page.evaluate("document.querySelector('#gpu-off').hidden")).toBe(true);

      await page.goto(`${without.base}/dashboard`);
      await page.waitForSelector('#running');
      await page.waitForFunction(`document.querySelector('#updated').textContent !== ''`);
      expect(await page.evaluate("document.querySelector('#gpu-off').hidden")).toBe(false);
      expect(await page.evaluate("document.querySelector('#gpu-queue').hidden")).toBe(true);
    } finally {
      await page.close();
      await withGpu.server.close();
      await without.server.close();
    }
  });

  test("a job's page shows its events and tails its log live until the job ends", async () => {
    const job: JobRecord = aJob({ id: newJobId(), state: 'running', createdAt: Date.now(), request: 'fix #1 in demo' });
    await store().save(job);
    await addEvent(job.id, { type: 'started', project: 'demo', ref: '#1', image: 'agent', host: 'h1' });
    await addEvent(job.id, { type: 'log', text: 'line before the page opened', level: 'info' });

    const { server, base } = await serve('local');
    const page = await browser.newPage();
    const errors = watchPageErrors(page);
    try {
      await page.goto(`${base}/dashboard/jobs/${job.id}`);
      await waitForText(page, '#log', 'line before the page opened');
      await waitForExactText(page, '#tail-status', 'live');

      await addEvent(job.id, { type: 'log', text: `printed while watching ${EVIL}`, level: 'info' });
      await waitForText(page, '#log', 'printed while watching');
      expect(await page.$eval('#log', (e) => e.textContent)).toContain(EVIL);

      await addEvent(job.id, { type: 'done', summary: 'all good' });
      await store().save({ ...job, state: 'done', finishedAt: Date.now(), summary: 'all good' });
      await waitForExactText(page, '#tail-status', 'the job has ended');
      await waitForData(page, 'state', 'done');
      const events = await page.$$eval('#events tbody tr', (rows) => rows.map((r) => r.children[1]?.textContent));
      expect(events).toEqual(['started', 'log', 'log', 'done']);
      expect(await page.$$('img')).toHaveLength(0);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await server.close();
    }
  });
});
