/**
 * Gemini `finishReason` → OpenAI `finish_reason` (https://ai.google.dev/api/generate-content#FinishReason).
 * Every safety-style stop is `content_filter`, the one value OpenAI clients know for it; anything else
 * that ends a turn (OTHER, MALFORMED_FUNCTION_CALL, …) is `stop`.
 */
const FINISH_REASONS: Readonly<Record<string, string>> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
  LANGUAGE: 'content_filter',
};

/** A turn that called functions finishes with `tool_calls`, as OpenAI's does, whatever Gemini says. */
export function toFinishReason(reason: string, calledTools: boolean): string {
  if (calledTools && (reason === 'STOP' || reason === 'MALFORMED_FUNCTION_CALL')) return 'tool_calls';
  return FINISH_REASONS[reason] ?? 'stop';
}
