// The line protocol for `command` agents (DESIGN §5). A stdout line
// `::switchboard:: {json}` is one event body; everything else is plain output.
// Answers and thread follow-ups go back to the command as JSON lines on stdin.
import { agentEventSchema, EVENT_SCHEMA_VERSION, type AgentEventBody, type ControlMessage } from '../domain/events.js';

export const PROTOCOL_PREFIX = '::switchboard::';

/** The event types a command may send; `started` and `log` are the runner's own. */
const COMMAND_EVENT_TYPES = new Set(['progress', 'question', 'usage', 'done', 'failed']);

type Body<T extends AgentEventBody['type']> = Extract<AgentEventBody, { type: T }>;
export type Verdict = Body<'done'> | Body<'failed'>;

export type ProtocolLine =
  /** Not a protocol line: ordinary output. */
  | { kind: 'text' }
  /** Publish as it is. */
  | { kind: 'event'; body: Body<'progress'> | Body<'question'> | Body<'usage'> }
  /** The command's own verdict, folded into the job's final event. */
  | { kind: 'verdict'; body: Verdict }
  /** Looked like a protocol line but is not one: log it as text, with `error` as the warning. */
  | { kind: 'invalid'; error: string };

// Stand-ins for the envelope the publisher stamps, so the one shared schema checks the body.
const ENVELOPE = { v: EVENT_SCHEMA_VERSION, jobId: 'line-protocol', seq: 0, ts: 1 };

/** Reads one stdout line. Never throws. */
export function parseProtocolLine(line: string): ProtocolLine {
  const start = line.trimStart();
  if (!start.startsWith(PROTOCOL_PREFIX)) return { kind: 'text' };
  const json = start.slice(PROTOCOL_PREFIX.length).trim();
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return { kind: 'invalid', error: 'the text after ::switchboard:: is not JSON' };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { kind: 'invalid', error: 'the event is not a JSON object' };
  const given = doc as Record<string, unknown>;
  if ('v' in given && given.v !== EVENT_SCHEMA_VERSION) {
    return { kind: 'invalid', error: `unknown schema version v=${JSON.stringify(given.v) ?? 'undefined'}` };
  }
  if (typeof given.type !== 'string' || !COMMAND_EVENT_TYPES.has(given.type)) {
    return {
      kind: 'invalid',
      error: `type must be one of ${[...COMMAND_EVENT_TYPES].join(', ')} (got ${JSON.stringify(given.type) ?? 'none'})`,
    };
  }
  const parsed = agentEventSchema.safeParse({ ...given, ...ENVELOPE });
  if (!parsed.success) {
    return { kind: 'invalid', error: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  }
  const { v: _v, jobId: _j, seq: _s, ts: _t, ...body } = parsed.data;
  if (body.type === 'done' || body.type === 'failed') return { kind: 'verdict', body };
  if (body.type === 'progress' || body.type === 'question' || body.type === 'usage') return { kind: 'event', body };
  return { kind: 'invalid', error: `type ${body.type} is the runner's own` };
}

/** The stdin line for a control message, or undefined for those the command is not told about (cancel). */
export function stdinLineFor(msg: ControlMessage): string | undefined {
  switch (msg.type) {
    case 'answer':
      return `${JSON.stringify({ type: 'answer', questionId: msg.questionId, answer: msg.answer })}\n`;
    case 'message':
      return `${JSON.stringify({ type: 'message', text: msg.text })}\n`;
    case 'cancel':
      return undefined;
  }
}
