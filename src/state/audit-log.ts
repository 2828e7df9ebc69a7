// The audit trail: every command and button press (who, what, where, outcome)
// as one entry in a capped Redis stream, and one log line. Recording never
// fails the action it describes: a Redis problem is logged and passed over.
import type { Redis } from 'ioredis';
import type { Keys } from '../domain/keys.js';
import type { Logger } from '../observability/logger.js';

/** Entries kept (approximately: XADD MAXLEN ~ trims whole stream nodes). */
export const AUDIT_MAX_ENTRIES = 10_000;
/** Typed text and button values are shortened to this many characters. */
export const AUDIT_TEXT_LIMIT = 500;

export interface AuditRecord {
  /** Who: the chat user id, and their workspace. */
  user: string;
  team?: string;
  /** A command typed (message, mention, DM, slash command) or a button pressed. */
  kind: 'command' | 'button';
  /** What: the intent (`fix`, `cancel`, `list`, …) or the button's action id (`job.cancel`). */
  action: string;
  /** Where: the channel, the thread when in one, and the surface (`message`, `mention`, `dm`, `slash`, `button`). */
  channel?: string;
  thread?: string;
  surface?: string;
  /** What came of it: `started`, `queued`, `refused`, `cancelled`, `not-understood`, `failed`, … */
  outcome: string;
  /** The job it started or acted on. */
  jobId?: string;
  /** The words typed or the button's value. */
  text?: string;
}

export interface AuditEntry extends AuditRecord {
  /** The stream entry id. */
  id: string;
  /** When it was recorded, epoch milliseconds. */
  at: number;
}

const FIELDS = ['user', 'team', 'kind', 'action', 'channel', 'thread', 'surface', 'outcome', 'jobId', 'text'] as const;

function shorten(text: string): string {
  const chars = [...text];
  return chars.length <= AUDIT_TEXT_LIMIT ? text : `${chars.slice(0, AUDIT_TEXT_LIMIT - 1).join('')}…`;
}

export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly log: Logger,
    private readonly maxEntries = AUDIT_MAX_ENTRIES,
  ) {}

  /** Records one action. Never throws. */
  async record(record: AuditRecord): Promise<void> {
    const entry = { ...record, text: record.text === undefined ? undefined : shorten(record.text) };
    this.log.info({ audit: entry }, `audit: ${entry.kind} ${entry.action} by ${entry.user} → ${entry.outcome}`);
    // Flat fields, so `XREVRANGE … COUNT 20` in redis-cli reads like a table.
    const fields: string[] = ['at', String(Date.now())];
    for (const name of FIELDS) {
      const value = entry[name];
      if (value !== undefined && value !== '') fields.push(name, value);
    }
    try {
      await this.redis.xadd(this.keys.audit, 'MAXLEN', '~', this.maxEntries, '*', ...fields);
    } catch (err) {
      this.log.error({ err, audit: entry }, 'the audit entry could not be written to Redis; it is only in this log');
    }
  }

  /** The latest entries, newest first. */
  async recent(count = 50): Promise<AuditEntry[]> {
    const rows = await this.redis.xrevrange(this.keys.audit, '+', '-', 'COUNT', count);
    return rows.map(([id, flat]) => {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i] as string, flat[i + 1] as string);
      const entry: AuditEntry = {
        id,
        at: Number(f.get('at')),
        user: f.get('user') ?? '',
        kind: f.get('kind') === 'button' ? 'button' : 'command',
        action: f.get('action') ?? '',
        outcome: f.get('outcome') ?? '',
      };
      for (const name of ['team', 'channel', 'thread', 'surface', 'jobId', 'text'] as const) {
        const value = f.get(name);
        if (value !== undefined) entry[name] = value;
      }
      return entry;
    });
  }
}
