/** Cohere v2 `finish_reason` → OpenAI `finish_reason`. */
export const COHERE_FINISH_REASONS: Readonly<Record<string, string>> = {
  COMPLETE: 'stop',
  STOP_SEQUENCE: 'stop',
  MAX_TOKENS: 'length',
  TOOL_CALL: 'tool_calls',
  // The generation was cut off by Cohere itself; clients see it as an early stop rather than success.
  ERROR: 'error',
  TIMEOUT: 'error',
};

export function toFinishReason(reason: unknown): string | null {
  if (typeof reason !== 'string') return null;
  return Object.hasOwn(COHERE_FINISH_REASONS, reason) ? COHERE_FINISH_REASONS[reason] : 'stop';
}
