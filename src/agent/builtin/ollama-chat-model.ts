// The ChatModel port on the official `ollama` client, against the agents'
// inference endpoint (SWITCHBOARD_INFERENCE_URL, DESIGN §5 "Inference").
import { Ollama, type Message } from 'ollama';
import type { ChatMessage, ChatModel, ChatTurn, ToolSpec } from './chat-model.js';

export interface OllamaChatModelOptions {
  /** Ollama-compatible base URL; may carry a path (a per-job prefix). */
  url: string;
  /** This job's token, sent as a bearer token when set. */
  token?: string;
  /** For tests; default the global fetch. */
  fetch?: typeof fetch;
}

function toOllama(m: ChatMessage): Message {
  switch (m.role) {
    case 'tool':
      return { role: 'tool', content: m.content, tool_name: m.toolName };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls?.length ? { tool_calls: m.toolCalls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })) } : {}),
      };
    default:
      return { role: m.role, content: m.content };
  }
}

export class OllamaChatModel implements ChatModel {
  constructor(private readonly options: OllamaChatModelOptions) {}

  async chat(
    request: { model: string; messages: readonly ChatMessage[]; tools: readonly ToolSpec[] },
    signal: AbortSignal,
  ): Promise<ChatTurn> {
    signal.throwIfAborted();
    const base = this.options.fetch ?? fetch;
    // The client passes no signal for `stream: false` requests; this fetch adds ours, so a
    // cancel or the wall-time cap also ends a request that waits for its first token.
    const client = new Ollama({
      host: this.options.url,
      ...(this.options.token ? { headers: { Authorization: `Bearer ${this.options.token}` } } : {}),
      fetch: (input, init) => base(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal }),
    });
    const response = await client.chat({
      model: request.model,
      messages: request.messages.map(toOllama),
      tools: request.tools.map((t) => ({
        type: 'function',
        function: { name: t.name, description: t.description, parameters: t.parameters },
      })),
      stream: false,
    });
    return {
      content: response.message.content ?? '',
      toolCalls: (response.message.tool_calls ?? []).map((c) => ({
        name: c.function.name,
        arguments: c.function.arguments && typeof c.function.arguments === 'object' ? c.function.arguments : {},
      })),
      promptTokens: response.prompt_eval_count ?? 0,
      completionTokens: response.eval_count ?? 0,
    };
  }
}
