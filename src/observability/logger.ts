// One pino logger for the process; child loggers carry the correlation ids
// (Slack event id, job id, channel) so a 3 a.m. reader can follow one request.
import { pino, type Logger } from 'pino';
import { stripUrlCredentials } from '../domain/text.js';

export type { Logger };

/** Paths that may hold secrets anywhere in a logged object. */
const REDACT_PATHS = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'signingSecret',
  '*.signingSecret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'env',
  '*.env',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'switchboard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Last line of defence: whatever a line says (repo URLs in reasons, error
      // messages, causes), no URL in it keeps its credentials.
      hooks: { streamWrite: stripUrlCredentials },
    },
    destination,
  );
}

/** A logger that drops everything (tests, tools). */
export const silentLogger: Logger = pino({ level: 'silent' });

/** A job's logger: every line carries the job id and the chat event that asked for it (Slack event id, or a command's trigger). */
export function jobLogger(logger: Logger, job: { id: string; requestRef?: string }): Logger {
  return logger.child({ jobId: job.id, ...(job.requestRef ? { ref: job.requestRef } : {}) });
}
