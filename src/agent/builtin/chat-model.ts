// The one call the built-in agent makes to a model: a chat turn with tools.
// A port of our own (after bullmq's "declare only the commands used"), so the
// loop is tested with a scripted model and runs against the inference endpoint
// through the official `ollama` client (ollama-chat-model.ts).

export interface ToolCall {
  name: string;
  /** As the model gave them; each tool validates its own. */
  arguments: Record<string, unknown>;
}

export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolName: string; content: string };

/** A tool as the model is told about it (Ollama's and OpenAI's `function` tool shape). */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: {
    type: 'object';
    properties: Record<string, { type: string; description: string; items?: { type: string } }>;
    required: string[];
  };
}

export interface ChatTurn {
  content: string;
  toolCalls: ToolCall[];
  promptTokens: number;
  completionTokens: number;
}

export interface ChatModel {
  /** One turn. Rejects when `signal` aborts (cancel, the wall-time cap) or the endpoint fails. */
  chat(request: { model: string; messages: readonly ChatMessage[]; tools: readonly ToolSpec[] }, signal: AbortSignal): Promise<ChatTurn>;
}
