import { toFinishReason } from 'src/modules/providers/adapters/anthropic/finish-reasons';

describe('toFinishReason', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'stop'],
    ['some_future_reason', 'stop'],
    ['toString', 'stop'],
  ])('maps %s to %s', (stopReason, finishReason) => {
    expect(toFinishReason(stopReason)).toBe(finishReason);
  });

  it('keeps a missing stop reason missing', () => {
    expect(toFinishReason(null)).toBeNull();
    expect(toFinishReason(undefined)).toBeNull();
  });
});
