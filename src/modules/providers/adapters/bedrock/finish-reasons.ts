/** Converse `stopReason` → OpenAI `finish_reason`; unknown future reasons map to `stop`. */
export const BEDROCK_FINISH_REASONS: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
};

export function toFinishReason(stopReason: unknown): string {
  return typeof stopReason === 'string' && Object.hasOwn(BEDROCK_FINISH_REASONS, stopReason)
    ? BEDROCK_FINISH_REASONS[stopReason]
    : 'stop';
}
