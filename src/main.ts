// Composition root of the dispatcher: read config, start, stop on a signal.
import { loadConfig, ConfigError } from './config/env.js';
import { createLogger, type Logger } from './observability/logger.js';
import { startDispatcher, type RunningDispatcher } from './dispatcher.js';
import { SwitchboardError } from './errors.js';
import { SlackTokenRejectedError } from './slack/slack-connection.js';

const EX_CONFIG = 78;

/**
 * The one line an operator reads when the process cannot go on: a coded
 * error's message already says what to fix; anything else keeps its stack.
 */
function fatal(logger: Logger, err: unknown, what: string): void {
  if (err instanceof SwitchboardError) logger.fatal({ code: err.code, hint: err.operatorHint }, err.message);
  else logger.fatal({ err }, what);
}

const exitCodeOf = (err: unknown) => (err instanceof SlackTokenRejectedError || err instanceof ConfigError ? EX_CONFIG : 1);

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EX_CONFIG);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let dispatcher: RunningDispatcher;
  let stopping = false;
  const onFatal = (err: Error) => {
    fatal(logger, err, 'cannot go on');
    if (stopping) return;
    stopping = true;
    // What this replica holds is handed back before it goes (never its agents).
    void (dispatcher?.stop() ?? Promise.resolve()).finally(() => process.exit(exitCodeOf(err)));
  };
  try {
    dispatcher = await startDispatcher(config, { logger, onFatal });
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal({ problems: err.problems }, err.message);
      process.exit(EX_CONFIG);
    }
    fatal(logger, err, 'could not start');
    process.exit(exitCodeOf(err));
  }
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal: sig }, 'signal received');
      // stop() keeps its own deadline (20 s): what was not handed back by then is logged, and the process goes.
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
