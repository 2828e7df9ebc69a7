// Free text → a reading the requester confirms (DESIGN §2). A message
// addressed to the bot that the grammar does not understand goes to the light
// inference route; a valid answer becomes a pending reading with Run and
// Cancel buttons, and nothing runs until its requester presses Run.
import { randomBytes } from 'node:crypto';
import { commandFor, parseReading, READING_JSON_SCHEMA, readingPrompt } from '../domain/free-text.js';
import type { Logger } from '../observability/logger.js';
import type { SenderContext } from '../domain/permissions.js';

/** What free text needs of the inference router's light route: one answer to one prompt. */
export interface LightRoute {
  /**
   * The model's whole answer. `format` is the JSON schema it must follow
   * (Ollama structured outputs). Rejects when no endpoint can serve.
   */
  complete(prompt: { system: string; user: string; format: Record<string, unknown> }, signal: AbortSignal): Promise<string>;
}

/** A reading waiting for its requester's Run (state/pending-readings.ts keeps it). */
export interface PendingReading {
  id: string;
  /** The grammar's words for it: what Run runs. */
  command: string;
  /** What the person wrote. */
  text: string;
  user: string;
  channel: string;
  threadTs?: string;
  sender?: SenderContext;
  createdAt: number;
}

/** How long a reading waits for Run before its buttons stop working. */
export const READING_TTL_SECONDS = 15 * 60;
/** Chat waits this long for the light route; slower is "I didn't understand". */
export const READING_TIMEOUT_MS = 20_000;

export const newReadingId = () => randomBytes(9).toString('base64url');

export class FreeTextReader {
  constructor(
    private readonly deps: { light: LightRoute; logger: Logger; timeoutMs?: number },
  ) {}

  /**
   * The grammar's words for what `text` asks, or undefined when the model's
   * answer is not a valid reading, says `none`, or does not come in time.
   * `projects`: the ones this person may use here, the only ones named to the model.
   */
  async read(text: string, projects: readonly string[]): Promise<string | undefined> {
    const { system, user } = readingPrompt(text, projects);
    let answer: string;
    try {
      answer = await this.deps.light.complete({ system, user, format: READING_JSON_SCHEMA }, AbortSignal.timeout(this.deps.timeoutMs ?? READING_TIMEOUT_MS));
    } catch (err) {
      this.deps.logger.warn({ err }, 'the light route could not read a message; answered as not understood');
      return undefined;
    }
    const parsed = parseReading(answer);
    if (!parsed.ok) {
      this.deps.logger.info({ error: parsed.error, answer: answer.slice(0, 500) }, 'the light route answered something that is not a reading; refused');
      return undefined;
    }
    return commandFor(parsed.reading);
  }
}
