// Composition root of the dispatcher: read config, start, stop on a signal.
import { loadConfig, ConfigError } from './config/env.js';
import { createLogger } from './observability/logger.js';
import { startDispatcher } from './dispatcher.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let dispatcher;
  try {
    dispatcher = await startDispatcher(config, { logger });
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal({ problems: err.problems }, err.message);
      process.exit(78);
    }
    logger.fatal({ err }, 'could not start');
    process.exit(1);
  }
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal: sig }, 'signal received');
      void dispatcher.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'unclean shutdown');
          process.exit(1);
        },
      );
    });
  }
}

void main();
