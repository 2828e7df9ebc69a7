// Free text → a reading the requester confirms (DESIGN §2). A message
// addressed to the bot that the grammar does not understand goes to the light
// inference route; a valid answer becomes a pending reading with Run and
// Cancel buttons, and nothing runs until its requester presses Run.
import { randomBytes } from 'node:crypto';
import { commandFor, parseReading, READING_JSON_SCHEMA, readingPrompt, type PendingReading } from '../domain/free-text.js';
import type { Logger } from '../observability/logger.js';
import type { SenderContext } from '../domain/permissions.js';
import { ACTIONS } from '../domain/actions.js';
import type { ChatRequest, ReadingReply, Reply } from './replies.js';

/** What free text needs of the inference router's light route: one answer to one prompt. */
export interface LightRoute {
  /**
   * The model's whole answer. `format` is the JSON schema it must follow
   * (Ollama structured outputs). Rejects when no endpoint can serve.
   */
  complete(prompt: { system: string; user: string; format: Record<string, unknown> }, signal: AbortSignal): Promise<string>;
}

/** How long a reading waits for Run before its buttons stop working. */
export const READING_TTL_SECONDS = 15 * 60;
/** Chat waits this long for the light route; slower is "I didn't understand". */
export const READING_TIMEOUT_MS = 20_000;

export const newReadingId = () => randomBytes(9).toString('base64url');

export class FreeTextReader {
  constructor(private readonly deps: { light: LightRoute; logger: Logger; timeoutMs?: number }) {}

  /**
   * The grammar's words for what `text` asks, or undefined when the model's
   * answer is not a valid reading, says `none`, or does not come in time.
   * `projects`: the ones this person may use here, the only ones named to the model.
   */
  async read(text: string, projects: readonly string[]): Promise<string | undefined> {
    const { system, user } = readingPrompt(text, projects);
    let answer: string;
    try {
      answer = await this.deps.light.complete(
        { system, user, format: READING_JSON_SCHEMA },
        AbortSignal.timeout(this.deps.timeoutMs ?? READING_TIMEOUT_MS),
      );
    } catch (err) {
      this.deps.logger.warn({ err }, 'the light route could not read a message; answered as not understood');
      return undefined;
    }
    const parsed = parseReading(answer);
    if (!parsed.ok) {
      this.deps.logger.info(
        { error: parsed.error, answer: answer.slice(0, 500) },
        'the light route answered something that is not a reading; refused',
      );
      return undefined;
    }
    return commandFor(parsed.reading);
  }
}

export interface FreeTextDeps {
  reader: FreeTextReader;
  readings: {
    save(reading: PendingReading, ttlSeconds: number): Promise<void>;
    take(id: string, user: string): Promise<{ kind: 'taken' | 'not-yours'; reading: PendingReading } | { kind: 'gone' }>;
  };
  now?: () => number;
}

/** What the requester said, as ChatRequests sees it (only what a reading keeps). */
export interface ReadingRequest {
  text: string;
  channel: string;
  user: string;
  threadTs?: string;
  sender?: SenderContext;
}

/**
 * The confirmation flow: a reading is shown and kept; Run hands its command
 * to `run` (the grammar's own path) as if its requester had said it; Cancel
 * drops it. Only the requester may do either.
 */
export class FreeTextConfirmations {
  constructor(private readonly deps: FreeTextDeps) {}

  /** A reading to confirm, or undefined when the light route gives none (the caller says "I didn't understand"). */
  async interpret(req: ReadingRequest, projects: readonly string[]): Promise<ReadingReply | undefined> {
    const command = await this.deps.reader.read(req.text, projects);
    if (command === undefined) return undefined;
    const reading: PendingReading = {
      id: newReadingId(),
      command,
      text: req.text,
      user: req.user,
      channel: req.channel,
      ...(req.threadTs ? { threadTs: req.threadTs } : {}),
      ...(req.sender ? { sender: req.sender } : {}),
      createdAt: (this.deps.now ?? Date.now)(),
    };
    await this.deps.readings.save(reading, READING_TTL_SECONDS);
    return { kind: 'reading', id: reading.id, command, user: req.user };
  }

  /** Run pressed: the reading's command runs through `run` once, for its requester only. */
  async run<R>(id: string, user: string, run: (reading: PendingReading) => Promise<R>): Promise<R | ReadingReply> {
    const taken = await this.deps.readings.take(id, user);
    if (taken.kind === 'gone') return { kind: 'reading-gone' };
    if (taken.kind === 'not-yours') return { kind: 'reading-not-yours', requester: taken.reading.user, command: taken.reading.command };
    return run(taken.reading);
  }

  /** Cancel pressed: the reading is dropped, for its requester only. */
  async drop(id: string, user: string): Promise<ReadingReply> {
    const taken = await this.deps.readings.take(id, user);
    if (taken.kind === 'gone') return { kind: 'reading-gone' };
    if (taken.kind === 'not-yours') return { kind: 'reading-not-yours', requester: taken.reading.user, command: taken.reading.command };
    return { kind: 'reading-dropped', command: taken.reading.command };
  }
}

/**
 * Binds Run and Cancel (domain/actions.ts) in the chat core. Run hands the
 * reading's command to `requests.handle` as if its requester had said it
 * (addressed, in the same channel and thread), so it gets exactly the
 * grammar's parsing and permission checks.
 */
export function registerReadingButtons(
  chat: { onButton(actionId: string, handler: (press: { value?: string; user: string }) => Promise<Reply>): void },
  confirmations: FreeTextConfirmations,
  requests: { handle(req: ChatRequest): Promise<Reply> },
): void {
  chat.onButton(ACTIONS.runReading, async (p) => {
    if (!p.value) return { kind: 'reading-gone' };
    return confirmations.run<Reply>(p.value, p.user, (r) =>
      requests.handle({
        text: r.command,
        channel: r.channel,
        user: r.user,
        addressed: true,
        ...(r.threadTs ? { threadTs: r.threadTs } : {}),
        ...(r.sender ? { sender: r.sender } : {}),
      }),
    );
  });
  chat.onButton(ACTIONS.dropReading, async (p) => (p.value ? confirmations.drop(p.value, p.user) : { kind: 'reading-gone' }));
}

/** The inference router's light route as a LightRoute (its `chat` reads one whole answer). */
export function lightRouteOn(router: {
  chat(request: {
    route: 'light';
    messages: { role: string; content: string }[];
    format?: unknown;
    options?: Record<string, unknown>;
    signal?: AbortSignal;
  }): Promise<{ content: string }>;
}): LightRoute {
  return {
    async complete(prompt, signal) {
      const answer = await router.chat({
        route: 'light',
        messages: [
          { role: 'system', content: prompt.system },
          { role: 'user', content: prompt.user },
        ],
        format: prompt.format,
        // The same message, the same reading.
        options: { temperature: 0 },
        signal,
      });
      return answer.content;
    },
  };
}
