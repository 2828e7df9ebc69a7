// One correlation key for everything a chat delivery causes: `ref` (a Slack
// event id, a command's trigger, a button's trigger; a local page's message
// id). It is made once, where the delivery enters (Slack: the dedupe
// middleware; the local page: its routes), with a logger that carries it; the
// chat core logs through that logger, a job it starts keeps it (requestRef),
// and every job log line carries it again (observability/logger.ts jobLogger).
// The "internal error, ref X" a person is shown is the same key.
import type { Logger } from '../observability/logger.js';

export interface ChatEvent {
  ref: string;
  /** The logger of everything this delivery causes: it carries `ref`. */
  log: Logger;
}

export function chatEvent(logger: Logger, ref: string): ChatEvent {
  return { ref, log: logger.child({ ref }) };
}
