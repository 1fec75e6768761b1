/** Anthropic `stop_reason` → OpenAI `finish_reason`. Unknown future reasons map to `stop`. */
export const ANTHROPIC_FINISH_REASONS: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  // The model ran out of context window rather than out of budget; for a client both mean "cut short".
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
  pause_turn: 'stop',
};

export function toFinishReason(stopReason: string | null | undefined): string | null {
  if (stopReason === null || stopReason === undefined) return null;
  return Object.hasOwn(ANTHROPIC_FINISH_REASONS, stopReason) ? ANTHROPIC_FINISH_REASONS[stopReason] : 'stop';
}
