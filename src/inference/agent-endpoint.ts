// The agents' inference endpoint, on its own listener (INFERENCE_PORT), apart
// from PORT: Ollama-compatible /api/chat, /api/generate, /api/tags (and
// /api/version, which Ollama clients ask first), OpenAI-compatible
// /v1/chat/completions and /v1/models. Every request names its job: OpenAI
// clients send the job's token as a bearer token (OPENAI_API_KEY);
// Ollama-native clients send no token, so OLLAMA_HOST carries it as a path
// prefix (`http://host:3001/job/<token>`), which the official clients (Go,
// Python, JS) keep in front of /api/…. A request whose token names no live job
// gets 401; one whose job is over its budget gets 403.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ErrorCode } from '../errors.js';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { isFinished, type JobRecord } from '../domain/job.js';
import type { Catalogue } from '../domain/project.js';
import { overBudget } from '../domain/budget.js';
import type { Logger } from '../observability/logger.js';
import { ProviderError, type GenerationChunk, type GenerationKind } from './provider.js';
import { InferenceRouter, InferenceUnavailableError, type Usage } from './router.js';
import { weightOf } from './slot-queue.js';
import type { JobTokens } from './job-tokens.js';
import type { JobLedger } from './job-ledger.js';
import { OpenAiStreamTranslator, completionOf, ollamaChatBody, openAiError, toolCallsOf } from './openai-compat.js';

export interface AgentEndpointDeps {
  router: InferenceRouter;
  tokens: JobTokens;
  jobs: { get(jobId: string): Promise<JobRecord | undefined> };
  catalogue: () => Catalogue;
  ledger: JobLedger;
  /** A connection of its own for the revocation channel (subscribe mode). */
  subscriber: Redis;
  revokedChannel: string;
  logger: Logger;
}

/** Path prefix that carries a job's token for clients that send none (OLLAMA_HOST). */
export const JOB_PATH_PREFIX = '/job/';
const MAX_BODY = 32 * 1024 * 1024;
const VERSION = '0.12.6';

class HttpError extends Error {
  readonly code = ErrorCode.InferenceRequestRefused;
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Caller {
  jobId: string;
  weight: number;
  path: string;
}

function ollamaModel(name: string) {
  return {
    name,
    model: name,
    modified_at: new Date(0).toISOString(),
    size: 0,
    digest: '',
    details: { format: 'gguf', family: '', families: null, parameter_size: '', quantization_level: '' },
  };
}

export class AgentEndpoint {
  private readonly server: Server;
  /** In-flight requests by job, so a job's end cancels them. */
  private readonly active = new Map<string, Set<AbortController>>();

  constructor(private readonly deps: AgentEndpointDeps) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
    deps.subscriber.on('message', (channel: string, jobId: string) => {
      if (channel === deps.revokedChannel) this.cancelJob(jobId, 'the job ended');
    });
  }

  async start(port: number, host: string): Promise<number> {
    await this.deps.subscriber.subscribe(this.deps.revokedChannel);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const jobId of [...this.active.keys()]) this.cancelJob(jobId, 'the dispatcher is stopping');
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.deps.subscriber.disconnect();
  }

  /** Requests in flight, all jobs together. */
  get inFlight(): number {
    let n = 0;
    for (const set of this.active.values()) n += set.size;
    return n;
  }

  cancelJob(jobId: string, why: string): void {
    const set = this.active.get(jobId);
    if (!set) return;
    for (const c of set) c.abort(new Error(why));
  }

  private async authenticate(req: IncomingMessage): Promise<Caller> {
    let path = new URL(req.url ?? '/', 'http://endpoint').pathname;
    let token: string | undefined;
    const auth = req.headers.authorization;
    const bearer = auth?.toLowerCase().startsWith('bearer ') ? auth.slice(7).trim() : undefined;
    if (path.startsWith(JOB_PATH_PREFIX)) {
      const rest = path.slice(JOB_PATH_PREFIX.length);
      const slash = rest.indexOf('/');
      token = slash < 0 ? rest : rest.slice(0, slash);
      path = slash < 0 ? '/' : rest.slice(slash);
      // Two tokens that disagree: one of them is another job's.
      if (bearer !== undefined && bearer !== token) throw new HttpError(401, 'the bearer token and the path name different jobs');
    } else {
      token = bearer;
    }
    if (!token)
      throw new HttpError(401, 'no job token: use the SWITCHBOARD_INFERENCE_TOKEN as a bearer token, or OLLAMA_HOST as given to the agent');
    const jobId = await this.deps.tokens.jobOf(token);
    const job = jobId ? await this.deps.jobs.get(jobId) : undefined;
    if (!jobId || !job || isFinished(job)) throw new HttpError(401, 'this token belongs to no running job');
    const project = this.deps.catalogue().get(job.project);
    const over = overBudget(job, project?.budget);
    if (over) throw new HttpError(403, `the job is over its budget: ${over}`);
    return { jobId, weight: weightOf(project?.priority ?? 0), path };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const openAi = (req.url ?? '').includes('/v1/');
    try {
      const caller = await this.authenticate(req);
      const route = `${req.method} ${caller.path}`;
      switch (route) {
        case 'GET /':
        case 'HEAD /':
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
          return void res.end('Ollama is running');
        case 'GET /api/version':
          return json(res, 200, { version: VERSION });
        case 'GET /api/tags':
          return json(res, 200, { models: this.models().map(ollamaModel) });
        case 'GET /v1/models':
          return json(res, 200, {
            object: 'list',
            data: this.models().map((id) => ({ id, object: 'model', created: 0, owned_by: 'switchboard' })),
          });
        case 'POST /api/chat':
        case 'POST /api/generate':
          return await this.ollama(caller.path === '/api/chat' ? 'chat' : 'generate', await readJson(req), caller, res);
        case 'POST /v1/chat/completions':
          return await this.openAi(await readJson(req), caller, res);
        default:
          throw new HttpError(404, `${req.method} ${caller.path} is not served here`);
      }
    } catch (err) {
      this.fail(res, err, openAi);
    }
  }

  private fail(res: ServerResponse, err: unknown, openAi: boolean): void {
    if (res.destroyed) return; // the client went away (or the job ended): nobody to tell
    let status = 500;
    let message = 'internal error';
    if (err instanceof HttpError || err instanceof InferenceUnavailableError) {
      status = err.status;
      message = err.message;
    } else if (err instanceof ProviderError) {
      // The endpoint's own words (a refused option, a runner that died mid-answer) are the agent's to read.
      status = err.failure === 'rejected' ? (err.status ?? 400) : 502;
      message = err.message;
    } else {
      this.deps.logger.error({ err }, 'inference request failed');
    }
    if (res.headersSent) {
      // Too late for a status: Ollama's way is an error line in the stream; OpenAI clients get an error event.
      if (!res.writableEnded && !res.destroyed)
        res.end(openAi ? `data: ${JSON.stringify(openAiError(message, 'server_error'))}\n\n` : `${JSON.stringify({ error: message })}\n`);
      return;
    }
    json(
      res,
      status,
      openAi
        ? openAiError(message, status === 401 ? 'invalid_request_error' : 'server_error', status === 401 ? 'invalid_api_key' : null)
        : { error: message },
    );
  }

  /** The models an agent may name: the routes' models. Other names get the heavy route's model. */
  private models(): string[] {
    return [...new Set([this.deps.router.modelOf('heavy'), this.deps.router.modelOf('light')].filter((m): m is string => !!m))];
  }

  /** Runs one request for a job: cancelled when its client goes away or its job ends; usage and waiting go to the job. */
  private async run(kind: GenerationKind, body: Record<string, unknown>, caller: Caller, res: ServerResponse) {
    const controller = new AbortController();
    let set = this.active.get(caller.jobId);
    if (!set) this.active.set(caller.jobId, (set = new Set()));
    set.add(controller);
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('the client went away'));
      set.delete(controller);
      if (set.size === 0) this.active.delete(caller.jobId);
    });
    const log = this.deps.logger.child({ jobId: caller.jobId });
    let waited = false;
    const served = () => {
      // Whether it got a slot or gave up, the job no longer waits (its status stops saying so).
      if (waited)
        void this.deps.ledger.waiting(caller.jobId, 0).catch((err: unknown) => log.warn({ err }, 'could not record the GPU wait'));
    };
    const stream = this.deps.router.stream({
      route: 'heavy',
      kind,
      body,
      tenant: caller.jobId,
      weight: caller.weight,
      signal: controller.signal,
      onPosition: (position) => {
        waited = true;
        void this.deps.ledger.waiting(caller.jobId, position).catch((err: unknown) => log.warn({ err }, 'could not record the GPU wait'));
      },
      onSettled: (usage: Usage) => {
        void this.deps.ledger.usage(caller.jobId, usage).catch((err: unknown) => log.warn({ err }, 'could not record inference usage'));
      },
    });
    return stream.finally(served);
  }

  private async ollama(kind: GenerationKind, body: Record<string, unknown>, caller: Caller, res: ServerResponse): Promise<void> {
    const streaming = body.stream !== false;
    const stream = await this.run(kind, body, caller, res);
    if (streaming) {
      for await (const chunk of stream.chunks) {
        if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        res.write(`${JSON.stringify({ ...chunk, model: stream.model })}\n`);
      }
      return void res.end();
    }
    let text = '';
    const toolCalls: unknown[] = [];
    let last: GenerationChunk = {};
    for await (const chunk of stream.chunks) {
      text += (kind === 'chat' ? chunk.message?.content : chunk.response) ?? '';
      toolCalls.push(...(chunk.message?.tool_calls ?? []));
      last = chunk;
    }
    const whole =
      kind === 'chat'
        ? {
            ...last,
            model: stream.model,
            message: { role: 'assistant', content: text, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
          }
        : { ...last, model: stream.model, response: text };
    json(res, 200, whole);
  }

  private async openAi(request: Record<string, unknown>, caller: Caller, res: ServerResponse): Promise<void> {
    const body = ollamaChatBody(request);
    const streaming = request.stream === true;
    const includeUsage = (request.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const stream = await this.run('chat', { ...body, stream: true }, caller, res);
    if (streaming) {
      const translator = new OpenAiStreamTranslator(stream.model);
      for await (const chunk of stream.chunks) {
        if (!res.headersSent)
          res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
        for (const out of translator.chunk(chunk)) res.write(`data: ${JSON.stringify(out)}\n\n`);
        if (chunk.done && includeUsage)
          res.write(`data: ${JSON.stringify(translator.usage(chunk.prompt_eval_count ?? 0, chunk.eval_count ?? 0))}\n\n`);
      }
      return void res.end('data: [DONE]\n\n');
    }
    let text = '';
    const toolCalls: Record<string, unknown>[] = [];
    let last: GenerationChunk = {};
    for await (const chunk of stream.chunks) {
      text += chunk.message?.content ?? '';
      toolCalls.push(...toolCallsOf(chunk, toolCalls.length));
      last = chunk;
    }
    json(res, 200, completionOf(stream.model, text, toolCalls, last));
  }
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(value));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY / 1024 / 1024} MB`);
    chunks.push(c as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'the body must be a JSON object');
}
