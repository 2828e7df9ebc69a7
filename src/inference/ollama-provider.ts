// The Ollama provider, on the official `ollama` client. The client keeps the
// wire format (it posts the body as given and yields the parsed NDJSON
// chunks), so agents' options, tools and formats pass through untouched.
// The browser build on purpose: the Node build's encodeImage reads any image string that names an
// existing file, so an agent's `images: ["/etc/…"]` would make the dispatcher send its own files.
import { Ollama, type ChatRequest, type GenerateRequest } from 'ollama/browser';
import {
  ProviderError,
  type GenerationBody,
  type GenerationChunk,
  type GenerationKind,
  type InferenceProvider,
  type ModelHealth,
} from './provider.js';

/** A fetch that also obeys `signal`: the client only aborts streams it was asked to, we abort anything. */
function fetchWith(signal: AbortSignal): typeof fetch {
  return (input, init) => fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
}

function failureOf(err: unknown, signal: AbortSignal): ProviderError {
  if (err instanceof ProviderError) return err;
  const status = (err as { status_code?: unknown }).status_code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof status === 'number') {
    if (status === 503) return new ProviderError('busy', message, status, { cause: err });
    if (status === 404) return new ProviderError('model-missing', message, status, { cause: err });
    if (status >= 500 || status === 408 || status === 429) return new ProviderError('unavailable', message, status, { cause: err });
    return new ProviderError('rejected', message, status, { cause: err });
  }
  if (signal.aborted)
    return new ProviderError('unavailable', `aborted: ${String(signal.reason ?? 'cancelled')}`, undefined, { cause: err });
  return new ProviderError('unavailable', message, undefined, { cause: err });
}

export class OllamaProvider implements InferenceProvider {
  constructor(readonly url: string) {}

  private client(signal: AbortSignal): Ollama {
    return new Ollama({ host: this.url, fetch: fetchWith(signal) });
  }

  async health(signal: AbortSignal): Promise<ModelHealth> {
    const client = this.client(signal);
    try {
      const [version, tags, ps] = await Promise.all([client.version(), client.list(), client.ps()]);
      return { version: version.version, models: tags.models.map((m) => m.name), loaded: ps.models.map((m) => m.name) };
    } catch (err) {
      const failure = failureOf(err, signal);
      throw new ProviderError('unavailable', `health check failed: ${failure.message}`, failure.status, { cause: err });
    }
  }

  async stream(kind: GenerationKind, body: GenerationBody, signal: AbortSignal): Promise<AsyncIterable<GenerationChunk>> {
    const client = this.client(signal);
    let chunks: AsyncIterator<GenerationChunk>;
    let first: IteratorResult<GenerationChunk>;
    try {
      const iterable =
        kind === 'chat'
          ? await client.chat({ ...(body as unknown as ChatRequest), stream: true })
          : await client.generate({ ...(body as unknown as GenerateRequest), stream: true });
      chunks = (iterable as unknown as AsyncIterable<GenerationChunk>)[Symbol.asyncIterator]();
      // Failures before the first chunk (an error line first, a stalled load) can still fall back.
      first = await chunks.next();
    } catch (err) {
      throw failureOf(err, signal);
    }
    return (async function* () {
      if (first.done) return;
      yield first.value;
      try {
        for (;;) {
          const next = await chunks.next();
          if (next.done) return;
          yield next.value;
        }
      } catch (err) {
        throw new ProviderError('interrupted', err instanceof Error ? err.message : String(err), undefined, { cause: err });
      }
    })();
  }
}
