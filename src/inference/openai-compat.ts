// OpenAI's chat completions in terms of Ollama's /api/chat, both ways: the
// request becomes an Ollama body (messages, tools, options, format), Ollama's
// chunks become chat.completion(.chunk) objects. The same translation Ollama's
// own /v1 layer does, kept to what agent CLIs send.
import type { GenerationChunk } from './provider.js';

type Json = Record<string, unknown>;

interface OpenAiToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string | Json };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  // Content parts: keep the text ones (images are not supported by this endpoint).
  if (Array.isArray(content))
    return content.map((p: { type?: string; text?: string }) => (p?.type === 'text' ? (p.text ?? '') : '')).join('');
  return '';
}

function parseArguments(args: unknown): Json {
  if (typeof args === 'string') {
    try {
      const parsed: unknown = JSON.parse(args || '{}');
      return parsed && typeof parsed === 'object' ? (parsed as Json) : {};
    } catch {
      return {};
    }
  }
  return args && typeof args === 'object' ? (args as Json) : {};
}

/** The Ollama /api/chat body for an OpenAI chat completions request (model left as the client named it). */
export function ollamaChatBody(req: Json): Json {
  const messages = (Array.isArray(req.messages) ? req.messages : []).map((m: Json) => {
    const out: Json = { role: m.role === 'developer' ? 'system' : m.role, content: textOf(m.content) };
    if (Array.isArray(m.tool_calls)) {
      out.tool_calls = (m.tool_calls as OpenAiToolCall[]).map((c) => ({
        function: { name: c.function?.name ?? '', arguments: parseArguments(c.function?.arguments) },
      }));
    }
    if (m.role === 'tool' && typeof m.name === 'string') out.tool_name = m.name;
    return out;
  });
  const options: Json = {};
  if (typeof req.temperature === 'number') options.temperature = req.temperature;
  if (typeof req.top_p === 'number') options.top_p = req.top_p;
  if (typeof req.seed === 'number') options.seed = req.seed;
  if (typeof req.frequency_penalty === 'number') options.frequency_penalty = req.frequency_penalty;
  if (typeof req.presence_penalty === 'number') options.presence_penalty = req.presence_penalty;
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (typeof maxTokens === 'number') options.num_predict = maxTokens;
  if (req.stop !== undefined && req.stop !== null) options.stop = Array.isArray(req.stop) ? req.stop : [req.stop];
  const body: Json = { model: req.model, messages, stream: req.stream === true };
  if (Object.keys(options).length) body.options = options;
  if (Array.isArray(req.tools)) body.tools = req.tools;
  const format = req.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  if (format?.type === 'json_object') body.format = 'json';
  if (format?.type === 'json_schema' && format.json_schema?.schema) body.format = format.json_schema.schema;
  return body;
}

export function toolCallsOf(chunk: GenerationChunk, from = 0): Json[] {
  const calls = (chunk.message?.tool_calls ?? []) as { function?: { name?: string; arguments?: unknown } }[];
  return calls.map((c, i) => ({
    index: from + i,
    id: `call_${Math.random().toString(36).slice(2, 10)}`,
    type: 'function',
    function: { name: c.function?.name ?? '', arguments: JSON.stringify(c.function?.arguments ?? {}) },
  }));
}

function finishReason(sawToolCalls: boolean, chunk: GenerationChunk): string {
  if (sawToolCalls) return 'tool_calls';
  return chunk.done_reason === 'length' ? 'length' : 'stop';
}

/** Turns Ollama chunks into chat.completion.chunk objects, one call per chunk. */
export class OpenAiStreamTranslator {
  private sawToolCalls = 0;
  private first = true;
  readonly id = `chatcmpl-${Math.random().toString(36).slice(2, 14)}`;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly model: string) {}

  private envelope(delta: Json, finish: string | null, extra: Json = {}): Json {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      system_fingerprint: 'fp_switchboard',
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    };
  }

  chunk(chunk: GenerationChunk): Json[] {
    const out: Json[] = [];
    const content = chunk.message?.content ?? '';
    const calls = toolCallsOf(chunk, this.sawToolCalls);
    if (content || calls.length || this.first) {
      const delta: Json = this.first ? { role: 'assistant', content } : { content };
      if (calls.length) delta.tool_calls = calls;
      this.sawToolCalls += calls.length;
      this.first = false;
      if (content || calls.length || !chunk.done) out.push(this.envelope(delta, null));
    }
    if (chunk.done) out.push(this.envelope({}, finishReason(this.sawToolCalls > 0, chunk)));
    return out;
  }

  /** The trailing usage chunk (`stream_options.include_usage`). */
  usage(promptTokens: number, completionTokens: number): Json {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage: usageOf(promptTokens, completionTokens),
    };
  }
}

function usageOf(promptTokens: number, completionTokens: number): Json {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** One chat.completion object from a whole Ollama answer. */
export function completionOf(model: string, content: string, toolCalls: Json[], last: GenerationChunk): Json {
  const message: Json = { role: 'assistant', content: toolCalls.length && !content ? null : content };
  if (toolCalls.length) message.tool_calls = toolCalls.map(({ index: _index, ...c }) => c);
  return {
    id: `chatcmpl-${Math.random().toString(36).slice(2, 14)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: 'fp_switchboard',
    choices: [{ index: 0, message, finish_reason: finishReason(toolCalls.length > 0, last) }],
    usage: usageOf(last.prompt_eval_count ?? 0, last.eval_count ?? 0),
  };
}

/** OpenAI's error body. */
export function openAiError(message: string, type: string, code: string | null = null): Json {
  return { error: { message, type, param: null, code } };
}
