/** Cohere v2 wire shapes (https://docs.cohere.com/reference/chat, https://docs.cohere.com/reference/embed). */

export interface CohereToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type CohereContent =
  string | ({ type: 'text'; text: string } | { type: 'image_url'; image_url: unknown })[];

export type CohereMessage =
  | { role: 'system'; content: CohereContent }
  | { role: 'user'; content: CohereContent }
  | { role: 'assistant'; content?: CohereContent; tool_calls?: CohereToolCall[]; tool_plan?: string }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface CohereChatBody {
  model: string;
  messages: CohereMessage[];
  stream: boolean;
  [key: string]: unknown;
}

/** `usage` of a v2 chat response or `message-end` event: billed units and raw token counts. */
export interface CohereUsage {
  billed_units?: { input_tokens?: number; output_tokens?: number; [k: string]: unknown };
  tokens?: { input_tokens?: number; output_tokens?: number };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
