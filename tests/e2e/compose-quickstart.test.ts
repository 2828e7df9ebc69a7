// The README's quick start, for real: a clean copy of the repository, an empty
// .env, `docker-compose up`: both images are built, Redis and the dispatcher
// start in local mode (no group id to look up, no password to make), and the
// first job of the demo project completes through the local chat page, in a
// real browser.
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import type { Browser } from 'puppeteer-core';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { launchBrowser, waitForData, waitForText } from '../support/browser.js';

jest.setTimeout(15 * 60_000);

const run = promisify(execFile);
const repo = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const FILES = [
  'Dockerfile',
  '.dockerignore',
  'docker-compose.yml',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'src',
  'scripts',
  'demo',
  'docker',
  'projects.example.yml',
  '.env.example',
];

describe('docker compose quick start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-compose-'));
  const project = `sbsmoke${randomBytes(3).toString('hex')}`;
  // Images named by the test's caller (AGENT_IMAGE, DISPATCHER_IMAGE), else the quick start's own; a network of this run's own.
  const agentImage = process.env.AGENT_IMAGE ?? 'switchboard-agent:latest';
  const dispatcherImage = process.env.DISPATCHER_IMAGE ?? 'switchboard-dispatcher:latest';
  let port = 0;
  let browser: Browser | undefined;
  // Only what a new user's shell has, plus the names that keep this run apart from others: nothing of the test run's own environment.
  const env = () => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    DOCKER_API_VERSION: process.env.DOCKER_API_VERSION ?? '1.41',
    PORT: String(port),
    AGENT_IMAGE: agentImage,
    DISPATCHER_IMAGE: dispatcherImage,
    DOCKER_NETWORK: `${project}-agents`,
  });
  const compose = (...args: string[]) =>
    run('docker-compose', ['-p', project, ...args], { cwd: dir, env: env(), maxBuffer: 64 * 1024 * 1024 });

  afterAll(async () => {
    await browser?.close();
    await compose('down', '-v', '--remove-orphans').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('an empty .env, docker-compose up: ready in local mode, and fix #1 in demo completes on the local page', async () => {
    for (const f of FILES) cpSync(join(repo, f), join(dir, f), { recursive: true });
    writeFileSync(join(dir, '.env'), '');
    port = await freePort();

    await compose('up', '-d', '--build');
    const base = `http://127.0.0.1:${port}`;
    const logs = async () =>
      (await compose('logs', '--no-color', '--tail', '80', 'dispatcher').catch((e: Error) => ({ stdout: e.message }))).stdout;

    const ready = await eventually(
      async () => {
        const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) });
        return res.status === 200 ? res.text() : undefined;
      },
      'GET /readyz to answer 200',
      120_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n--- dispatcher logs ---\n${await logs()}`);
    });
    expect(ready).toContain('ready: redis, spawner (docker)');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('switchboard_jobs_finished_total');

    // The port is published on this machine's loopback only.
    const { stdout: published } = await compose('port', 'dispatcher', String(port));
    expect(published.trim()).toBe(`127.0.0.1:${port}`);

    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await waitForData(page, 'live', 'true');
    await page.type('#text', 'fix #1 in demo');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.thread .msg.bot');
    await waitForText(page, '.thread', 'Fixed the typo in README.md', 180_000).catch(async (err: Error) => {
      throw new Error(
        `${err.message}\n--- page ---\n${await page.$eval('#messages', (e) => e.textContent)}\n--- dispatcher logs ---\n${await logs()}`,
      );
    });
    expect(await page.$eval('.thread', (e) => e.textContent)).toMatch(/demo #1 is done/);
  });
});
