// An Ollama server double for tests and benches (DESIGN §6): real HTTP on a
// loopback port, Ollama's paths and answer shapes (docs/api.md): /api/version,
// /api/tags, /api/ps, /api/chat and /api/generate with NDJSON streaming ending
// in the statistics chunk (or one JSON object with `stream: false`), tool calls,
// 404 for a model it does not have, and its own scheduler (parallel slots, a
// bounded queue, 503 "server busy" beyond it). Faults a test can ask for: an
// `{"error": …}` line in the middle of a 200 stream, an HTTP error status, a
// slow first token, a fixed token rate. Replies can be scripted (a queue of
// canned assistant turns, tool calls included) so a test can drive a coding loop.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { Slots, ServerBusyError } from './slots.js';

export interface OllamaToolCall {
  function: { name: string; arguments: Record<string, unknown> };
}

/** One canned assistant turn. Without a script, the double answers `defaultReply`. */
export interface ScriptedReply {
  /** The assistant's text; streamed one token (word or space-led word) per chunk. */
  content?: string;
  /** Tool calls of the turn, sent in one chunk after the content, as Ollama does. */
  toolCalls?: OllamaToolCall[];
  /** With `errorAfterTokens`: an `{"error": …}` line after that many tokens, in a 200 stream. */
  error?: string;
  errorAfterTokens?: number;
  /** Answer this HTTP status with `{"error": error}` before streaming anything (e.g. 500). */
  status?: number;
  /** Overrides the double's first-token delay for this turn. */
  firstTokenDelayMs?: number;
  /** Only requests whose path starts with this take the reply ('/api/chat', '/api/generate'); default any. */
  path?: string;
}

export interface OllamaDoubleOptions {
  /** Models it has (`/api/tags`); a request for another gets 404. Default ['qwen2.5-coder:7b', 'llama3.2:3b']. */
  models: string[];
  /** OLLAMA_NUM_PARALLEL: requests generating at once. Default 1. */
  parallel: number;
  /** OLLAMA_MAX_QUEUE: requests that may wait for a slot; beyond, 503. Default 512 (Ollama's). */
  maxQueue: number;
  /** Generation speed after the first token; 0 = as fast as possible. Default 0. */
  tokensPerSecond: number;
  /** Time from getting a slot to the first token (prompt evaluation, model load). Default 0. */
  firstTokenDelayMs: number;
  /** The unscripted answer. Default 'Hello from the Ollama double.' */
  defaultReply: string;
  version: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | undefined;
}

const DEFAULTS: OllamaDoubleOptions = {
  models: ['qwen2.5-coder:7b', 'llama3.2:3b'],
  parallel: 1,
  maxQueue: 512,
  tokensPerSecond: 0,
  firstTokenDelayMs: 0,
  defaultReply: 'Hello from the Ollama double.',
  version: '0.12.6',
};

const KEEP_ALIVE_MS = 5 * 60_000;

/** Splits text the way a tokenizer roughly would, keeping every character: "a b" → ["a", " b"]. */
export function tokensOf(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

function wordCount(value: unknown): number {
  if (typeof value === 'string') return tokensOf(value).length;
  if (Array.isArray(value)) return value.reduce((n: number, m: unknown) => n + wordCount((m as { content?: unknown })?.content), 0);
  return 0;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const onAbort = () => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

function modelEntry(name: string) {
  return {
    name,
    model: name,
    modified_at: '2025-10-01T12:00:00.000000000Z',
    size: 4_683_087_332,
    digest: Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64),
    details: {
      parent_model: '',
      format: 'gguf',
      family: 'qwen2',
      families: ['qwen2'],
      parameter_size: '7.6B',
      quantization_level: 'Q4_K_M',
    },
  };
}

/** Emits 'aborted' when a generation stops because its client went away (queued or generating), 'completed' when one finishes. */
export class OllamaDouble extends EventEmitter {
  readonly options: OllamaDoubleOptions;
  /** Every request received, in order (bodies parsed). */
  readonly requests: RecordedRequest[] = [];
  /** Counters a test or bench reads. */
  readonly stats = { busy503: 0, notFound404: 0, completed: 0, aborted: 0, tokens: 0 };
  private readonly script: ScriptedReply[] = [];
  private readonly loaded = new Map<string, number>();
  private readonly slots: Slots;
  private readonly server: Server;
  private readonly live = new Set<ServerResponse>();
  url = '';

  private constructor(options: Partial<OllamaDoubleOptions>) {
    super();
    this.options = { ...DEFAULTS, ...options };
    this.slots = new Slots(
      () => this.options.parallel,
      () => this.options.maxQueue,
    );
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  static async start(options: Partial<OllamaDoubleOptions> = {}, host = '127.0.0.1'): Promise<OllamaDouble> {
    const double = new OllamaDouble(options);
    await new Promise<void>((resolve) => double.server.listen(0, host, resolve));
    const { port } = double.server.address() as AddressInfo;
    double.url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    return double;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Queues canned replies, taken one per generation request in arrival order. */
  reply(...turns: ScriptedReply[]): void {
    this.script.push(...turns);
  }

  /** Scripted replies not used yet. */
  get pendingReplies(): number {
    return this.script.length;
  }

  /** Requests generating right now, waiting in the double's own queue, and the most ever generating at once. */
  get load(): { inFlight: number; queued: number; maxInFlight: number } {
    return { inFlight: this.slots.inFlight, queued: this.slots.queued, maxInFlight: this.slots.maxRunning };
  }

  /** Generation requests received (chat + generate). */
  generations(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === '/api/chat' || r.path === '/api/generate');
  }

  async close(): Promise<void> {
    for (const res of this.live) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let body: Record<string, unknown> | undefined;
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        this.requests.push({ method: req.method ?? '', path, headers: req.headers, body: undefined });
        return this.json(res, 400, { error: 'invalid character looking for beginning of value' });
      }
    }
    this.requests.push({ method: req.method ?? '', path, headers: req.headers, body });
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'GET /':
      case 'HEAD /':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        return void res.end('Ollama is running');
      case 'GET /api/version':
        return this.json(res, 200, { version: this.options.version });
      case 'GET /api/tags':
        return this.json(res, 200, { models: this.options.models.map(modelEntry) });
      case 'GET /api/ps':
        return this.json(res, 200, { models: this.running() });
      case 'POST /api/chat':
      case 'POST /api/generate':
        return this.generate(path === '/api/chat' ? 'chat' : 'generate', body ?? {}, res);
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        return void res.end('404 page not found');
    }
  }

  private running() {
    const now = Date.now();
    return [...this.loaded.entries()]
      .filter(([, last]) => now - last < KEEP_ALIVE_MS)
      .map(([name, last]) => ({ ...modelEntry(name), expires_at: new Date(last + KEEP_ALIVE_MS).toISOString(), size_vram: 4_683_087_332 }));
  }

  private json(res: ServerResponse, status: number, value: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(value));
  }

  private nextReply(path: string): ScriptedReply {
    const i = this.script.findIndex((r) => r.path === undefined || path.startsWith(r.path));
    if (i >= 0) return this.script.splice(i, 1)[0]!;
    return { content: this.options.defaultReply };
  }

  private async generate(kind: 'chat' | 'generate', body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const model = typeof body.model === 'string' ? body.model : '';
    if (model === '') return this.json(res, 400, { error: 'model is required' });
    const known = this.options.models.some((m) => m === model || m === `${model}:latest`);
    if (!known) {
      this.stats.notFound404 += 1;
      return this.json(res, 404, { error: `model "${model}" not found, try pulling it first` });
    }
    const stream = body.stream !== false; // Ollama streams unless told not to
    const aborter = new AbortController();
    this.live.add(res);
    res.on('close', () => {
      this.live.delete(res);
      if (!res.writableFinished) aborter.abort();
    });

    let release: () => void;
    try {
      release = await this.slots.acquire(aborter.signal);
    } catch (err) {
      if (err instanceof ServerBusyError) {
        this.stats.busy503 += 1;
        return this.json(res, 503, { error: err.message });
      }
      this.stats.aborted += 1;
      this.emit('aborted');
      return;
    }
    const t0 = process.hrtime.bigint();
    try {
      const reply = this.nextReply(kind === 'chat' ? '/api/chat' : '/api/generate');
      if (reply.status !== undefined) return this.json(res, reply.status, { error: reply.error ?? 'internal error' });
      this.loaded.set(model, Date.now());
      const promptTokens = kind === 'chat' ? wordCount(body.messages) : wordCount(body.prompt) + wordCount(body.system);
      const tokens = tokensOf(reply.content ?? '');
      const delay = this.options.tokensPerSecond > 0 ? 1000 / this.options.tokensPerSecond : 0;
      const base = { model, created_at: '' };
      const piece = (text: string, extra: Record<string, unknown> = {}) =>
        kind === 'chat'
          ? { ...base, created_at: new Date().toISOString(), message: { role: 'assistant', content: text, ...extra }, done: false }
          : { ...base, created_at: new Date().toISOString(), response: text, done: false };

      await sleep(reply.firstTokenDelayMs ?? this.options.firstTokenDelayMs, aborter.signal);
      if (stream) res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      let sent = 0;
      for (const token of tokens) {
        if (aborter.signal.aborted) break;
        if (reply.error !== undefined && reply.errorAfterTokens !== undefined && sent >= reply.errorAfterTokens) break;
        if (sent > 0) await sleep(delay, aborter.signal);
        if (aborter.signal.aborted) break;
        if (stream) res.write(`${JSON.stringify(piece(token))}\n`);
        sent += 1;
        this.stats.tokens += 1;
      }
      if (aborter.signal.aborted) {
        this.stats.aborted += 1;
        this.emit('aborted');
        return;
      }
      if (reply.error !== undefined && reply.errorAfterTokens !== undefined) {
        // Ollama reports a failure after the headers went out as one error line in the 200 stream.
        if (stream) return void res.end(`${JSON.stringify({ error: reply.error })}\n`);
        return this.json(res, 500, { error: reply.error });
      }
      const toolCalls = reply.toolCalls && kind === 'chat' ? { tool_calls: reply.toolCalls } : {};
      if (stream && reply.toolCalls && kind === 'chat') res.write(`${JSON.stringify(piece('', toolCalls))}\n`);
      const evalNs = Number(process.hrtime.bigint() - t0);
      const statistics = {
        done: true,
        done_reason: 'stop',
        total_duration: evalNs,
        load_duration: 1_000_000,
        prompt_eval_count: promptTokens,
        prompt_eval_duration: 1_000_000,
        eval_count: tokens.length,
        eval_duration: evalNs,
      };
      const full = tokens.join('');
      if (stream) {
        const last =
          kind === 'chat'
            ? { ...base, created_at: new Date().toISOString(), message: { role: 'assistant', content: '' }, ...statistics }
            : { ...base, created_at: new Date().toISOString(), response: '', ...statistics, context: [1, 2, 3] };
        res.end(`${JSON.stringify(last)}\n`);
      } else {
        const whole =
          kind === 'chat'
            ? { ...base, created_at: new Date().toISOString(), message: { role: 'assistant', content: full, ...toolCalls }, ...statistics }
            : { ...base, created_at: new Date().toISOString(), response: full, ...statistics, context: [1, 2, 3] };
        this.json(res, 200, whole);
      }
      this.stats.completed += 1;
      this.emit('completed');
    } finally {
      release();
    }
  }
}
