// The agent event schema (DESIGN §5), shared by the dispatcher and the agent
// runner. Every event is one JSON document in the stream field `e`.
import { z } from 'zod';

export const EVENT_SCHEMA_VERSION = 1;

/** The runner cuts each text of an event to this many characters (with a marker), so one huge output line stays one sane event. */
export const MAX_EVENT_TEXT = 64 * 1024;
/**
 * The dispatcher skips (and counts) stream entries longer than this, unread:
 * far above what a runner that caps its texts writes (JSON escaping can make
 * a capped text six times longer), far below what would stall the relay.
 */
export const MAX_EVENT_ENTRY = 1024 * 1024;

const base = {
  v: z.literal(EVENT_SCHEMA_VERSION),
  jobId: z.string().min(1),
  seq: z.number().int().nonnegative(),
  ts: z.number().int().positive(), // epoch milliseconds
};

export const agentEventSchema = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('started'), project: z.string(), ref: z.string(), image: z.string(), host: z.string() }),
  z.object({
    ...base,
    type: z.literal('progress'),
    step: z.number().int().positive(),
    total: z.number().int().positive(),
    name: z.string(),
    text: z.string().optional(),
  }),
  // `dropped`: output lines the runner dropped just before this batch (the agent wrote faster than its cap).
  z.object({
    ...base,
    type: z.literal('log'),
    text: z.string(),
    level: z.enum(['debug', 'info', 'warn', 'error']),
    dropped: z.number().int().nonnegative().optional(),
  }),
  z.object({
    ...base,
    type: z.literal('question'),
    questionId: z.string(),
    text: z.string(),
    kind: z.enum(['confirm', 'choice', 'text', 'approval']),
    choices: z.array(z.string()).optional(),
    default: z.string().optional(),
    timeoutSeconds: z.number().int().positive(),
  }),
  z.object({
    ...base,
    type: z.literal('usage'),
    model: z.string(),
    promptTokens: z.number().int().nonnegative(),
    completionTokens: z.number().int().nonnegative(),
    costUsd: z.number().nonnegative().optional(),
    gpuSeconds: z.number().nonnegative().optional(),
  }),
  // Written by the dispatcher's inference endpoint, not by agents: a request of the job waits for a GPU
  // slot at this place in line (1 = next); 0 once it has one.
  z.object({ ...base, type: z.literal('waiting'), for: z.literal('gpu'), position: z.number().int().nonnegative() }),
  z.object({
    ...base,
    type: z.literal('done'),
    summary: z.string(),
    prUrl: z.string().optional(),
    branch: z.string().optional(),
    commit: z.string().optional(),
  }),
  z.object({
    ...base,
    type: z.literal('failed'),
    reason: z.string(),
    step: z.number().int().positive().optional(),
    name: z.string().optional(),
    retryable: z.boolean(),
  }),
]);

export type AgentEvent = z.infer<typeof agentEventSchema>;
/** An event as the runner writes it, before the envelope fields are stamped. */
export type AgentEventBody = AgentEvent extends infer E ? (E extends AgentEvent ? Omit<E, 'v' | 'jobId' | 'seq' | 'ts'> : never) : never;

export const isTerminal = (e: AgentEvent): e is Extract<AgentEvent, { type: 'done' | 'failed' }> =>
  e.type === 'done' || e.type === 'failed';

export const controlMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('answer'), questionId: z.string(), answer: z.string(), by: z.string() }),
  z.object({ type: z.literal('cancel'), by: z.string(), reason: z.string() }),
  // A thread follow-up from the requester or an admin (DESIGN §2), for the agent command's stdin.
  z.object({ type: z.literal('message'), text: z.string(), by: z.string() }),
]);
export type ControlMessage = z.infer<typeof controlMessageSchema>;

export type ParsedEvent = { ok: true; event: AgentEvent } | { ok: false; error: string };

/** Parses the `e` field of a stream entry. Never throws: a bad event is reported, not fatal. */
export function parseAgentEvent(raw: string | undefined): ParsedEvent {
  if (raw === undefined) return { ok: false, error: 'stream entry has no field "e"' };
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'field "e" is not JSON' };
  }
  if (doc && typeof doc === 'object' && 'v' in doc && (doc as { v: unknown }).v !== EVENT_SCHEMA_VERSION) {
    return { ok: false, error: `unknown schema version v=${JSON.stringify((doc as { v: unknown }).v) ?? 'undefined'}` };
  }
  const parsed = agentEventSchema.safeParse(doc);
  if (!parsed.success) {
    return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  }
  return { ok: true, event: parsed.data };
}

export function parseControlMessage(raw: string | undefined): ControlMessage | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = controlMessageSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
