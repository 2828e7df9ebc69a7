// Bolt and its clients log through our pino logger, so their lines carry the
// same JSON shape and never print tokens.
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../observability/logger.js';

/**
 * Transport failures the Slack clients repeat on every retry ("http request
 * failed fetch failed" every few seconds). SlackConnection says it once, with
 * the URL and method, so these go to debug.
 */
const REPEATED_TRANSPORT_FAILURE = /^(http request failed|Failed to retrieve a new WSS URL|Failed to (re)?connect|Unable to connect)/i;

export function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const log = logger.child({ component: 'slack' });
  const text = (msg: unknown[]) =>
    msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  return {
    debug: (...msg) => log.debug(text(msg)),
    info: (...msg) => log.info(text(msg)),
    warn: (...msg) => (REPEATED_TRANSPORT_FAILURE.test(text(msg)) ? log.debug(text(msg)) : log.warn(text(msg))),
    error: (...msg) => (REPEATED_TRANSPORT_FAILURE.test(text(msg)) ? log.debug(text(msg)) : log.error(text(msg))),
    setLevel: (l) => void (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
}
