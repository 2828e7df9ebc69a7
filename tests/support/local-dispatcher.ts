// A dispatcher in SLACK_MODE=local in this process, against the test Redis
// and the real Docker engine, with the demo project of demo/projects.yml and
// any more projects a test adds; plus a real browser to use its pages.
import Docker from 'dockerode';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Browser } from 'puppeteer-core';
import { loadConfig, type Config } from '../../src/config/env.js';
import { createLogger } from '../../src/observability/logger.js';
import { startDispatcher, type RunningDispatcher } from '../../src/dispatcher.js';
import { isJobId } from '../../src/domain/job-id.js';
import { AGENT_IMAGE, assertAgentImage } from './dispatcher-harness.js';
import { agentNetwork } from './agent-network.js';
import { freePort } from './free-port.js';
import { launchBrowser } from './browser.js';

const repo = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

export interface LocalDispatcher {
  base: string;
  config: Config;
  prefix: string;
  browser: Browser;
  stop(): Promise<void>;
}

/** `moreProjects`: YAML lines under `projects:` (indented by two spaces), added to the demo catalogue. */
export async function startLocalDispatcher(opts: { moreProjects?: string } = {}): Promise<LocalDispatcher> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  await assertAgentImage(docker);
  const dir = mkdtempSync(join(tmpdir(), 'sb-local-'));
  const projectsFile = join(dir, 'projects.yml');
  writeFileSync(projectsFile, `${readFileSync(join(repo, 'demo/projects.yml'), 'utf8')}${opts.moreProjects ?? ''}`);
  const port = await freePort();
  const prefix = `sbtest:${randomBytes(4).toString('hex')}:`;
  const config = loadConfig({
    SLACK_MODE: 'local',
    PORT: String(port),
    LISTEN_HOST: '127.0.0.1',
    REDIS_URL: process.env.REDIS_URL,
    REDIS_AGENT_URL: process.env.REDIS_AGENT_URL,
    REDIS_PREFIX: prefix,
    AGENT_IMAGE,
    DOCKER_NETWORK: agentNetwork(),
    PROJECTS_FILE: projectsFile,
    MAX_CONCURRENT_JOBS: '2',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
  });
  const dispatcher: RunningDispatcher = await startDispatcher(config, {
    logger: createLogger(config.logLevel),
    timings: { statusIntervalMs: 250, readBlockMs: 500, exitWaitMs: 15_000 },
  });
  const browser = await launchBrowser();
  return {
    base: `http://127.0.0.1:${port}`,
    config,
    prefix,
    browser,
    async stop() {
      await browser.close();
      await dispatcher.stop();
      // Only this run's agents and keys: the jobs recorded under its own prefix.
      const redis = new Redis(config.redis.url);
      const stale = await redis.keys(`${prefix}*`);
      const jobIds = new Set(stale.map((k) => /^job:([^:]+)(?::|$)/.exec(k.slice(prefix.length))?.[1]).filter(isJobId));
      for (const id of jobIds) {
        await docker
          .getContainer(`switchboard-job-${id}`)
          .remove({ force: true })
          .catch(() => undefined);
        await redis.call('ACL', 'DELUSER', `job-${id}`).catch(() => undefined);
      }
      if (stale.length) await redis.del(...stale);
      await redis.quit();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
