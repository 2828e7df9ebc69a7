// The README's quick start, for real: docker-compose.yml builds both images
// and brings up Redis and a dispatcher that is ready (Redis and the Docker
// socket reachable) on the published port.
import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';

jest.setTimeout(15 * 60_000);

const run = promisify(execFile);
const repo = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const FILES = ['Dockerfile', '.dockerignore', 'docker-compose.yml', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'projects.example.yml', '.env.example'];

describe('docker compose quick start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-compose-'));
  const project = `sbsmoke${randomBytes(3).toString('hex')}`;
  const env = { ...process.env, DOCKER_API_VERSION: process.env.DOCKER_API_VERSION ?? '1.41' };
  const compose = (...args: string[]) => run('docker-compose', ['-p', project, ...args], { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 });

  afterAll(async () => {
    await compose('down', '-v', '--remove-orphans').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('cp .env.example .env, fill it in, docker-compose up: the dispatcher becomes ready', async () => {
    for (const f of FILES) cpSync(join(repo, f), join(dir, f), { recursive: true });
    cpSync(join(dir, 'projects.example.yml'), join(dir, 'projects.yml'));
    const port = await freePort();
    const filled = readFileSync(join(dir, '.env.example'), 'utf8')
      .replace(/^SLACK_SIGNING_SECRET=.*$/m, 'SLACK_SIGNING_SECRET=smoke-test-signing-secret')
      .replace(/^SLACK_MODE=.*$/m, 'SLACK_MODE=http')
      .replace(/^PORT=.*$/m, `PORT=${port}`)
      .replace(/^DOCKER_GID=.*$/m, `DOCKER_GID=${statSync('/var/run/docker.sock').gid}`);
    writeFileSync(join(dir, '.env'), filled);

    await compose('up', '-d', '--build');

    const ready = await eventually(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) });
        return res.status === 200 ? res.text() : undefined;
      },
      'GET /readyz to answer 200',
      120_000,
    ).catch(async (err: Error) => {
      const { stdout } = await compose('logs', '--no-color', '--tail', '50', 'dispatcher');
      throw new Error(`${err.message}\n--- dispatcher logs ---\n${stdout}`);
    });
    expect(ready).toContain('ready');
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('switchboard_jobs_finished_total');

    // The agent image the dispatcher starts was built by the same `up`.
    const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Config.Entrypoint}}', 'switchboard-agent:latest'], { env });
    expect(stdout).toContain('/app/dist/agent/main.js');
  });
});
