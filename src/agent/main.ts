// Second entrypoint: the agent runner inside the agent image (DESIGN §5).
import { Redis, type RedisOptions } from 'ioredis';
import { AgentRunner } from './runner.js';
import { stripUrlCredentials } from '../domain/text.js';
import { parseRunnerOptions, RunnerUsageError } from './runner-options.js';
import { killStrayProcesses, runsAsContainerMain } from './stray-processes.js';

/**
 * The job's own Redis user may run only what the runner needs (state/agent-credentials.ts):
 * no INFO, so no ready check. After a Redis restart the dispatcher re-creates the user
 * moments after Redis is back; ioredis keeps reconnecting until then.
 */
// Commands in flight when a connection drops are sent again on the next one (ioredis's default): without
// that they would be dropped without an answer, and whoever waits for them would wait for ever.
const AGENT_CONNECTION: RedisOptions = { enableReadyCheck: false };
/** Saying goodbye to Redis never keeps the runner alive (its user may already be gone with the job). */
const QUIT_WAIT_MS = 2000;

/** The container's log: URLs lose their credentials (the Redis URL carries the job's password). */
function log(msg: string): void {
  process.stderr.write(`switchboard-agent: ${stripUrlCredentials(msg)}\n`);
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseRunnerOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof RunnerUsageError) {
      log(err.message);
      return 2;
    }
    throw err;
  }
  const redis = new Redis(options.redisUrl, { connectionName: `switchboard:agent:${options.jobId}`, ...AGENT_CONNECTION });
  const controlRedis = new Redis(options.redisUrl, { connectionName: `switchboard:agent-control:${options.jobId}`, ...AGENT_CONNECTION });
  // Only where every other process of this user is the agent's: the container (never a developer's machine).
  const killStrays = runsAsContainerMain() ? killStrayProcesses : undefined;
  const runner = new AgentRunner(options, { redis, controlRedis, env: process.env, log, killStrays });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => runner.cancel(`the agent was stopped (${sig})`));
  }
  try {
    const outcome = await runner.run();
    log(`job ${options.jobId} ${outcome}`);
    return outcome === 'done' ? 0 : 1;
  } finally {
    await Promise.race([redis.quit().catch(() => undefined), new Promise((r) => setTimeout(r, QUIT_WAIT_MS).unref())]);
    redis.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`crashed: ${(err as Error).stack ?? String(err)}`);
    process.exit(70);
  },
);
