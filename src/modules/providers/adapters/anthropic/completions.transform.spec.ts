import { AdapterRequestError, CompletionsRequest } from 'src/modules/providers/provider-adapter';
import { parseAnthropicMessage } from 'src/modules/providers/adapters/anthropic/chat-completions.transform';
import {
  toAnthropicCompletionsBody,
  toTextCompletion,
} from 'src/modules/providers/adapters/anthropic/completions.transform';

describe('toAnthropicCompletionsBody', () => {
  it('sends the prompt as one user message with sampling parameters', () => {
    const request: CompletionsRequest = {
      prompt: 'Say hi',
      max_tokens: 20,
      temperature: 0.4,
      stop: '\n',
      echo: true,
      suffix: 'x',
      best_of: 2,
      logprobs: 3,
    };
    expect(toAnthropicCompletionsBody(request, 'claude-haiku-4-5')).toEqual({
      model: 'claude-haiku-4-5',
      messages: [{ role: 'user', content: 'Say hi' }],
      max_tokens: 20,
      temperature: 0.2,
      stop_sequences: ['\n'],
    });
  });

  it('accepts a one-element prompt array and defaults max_tokens', () => {
    expect(toAnthropicCompletionsBody({ prompt: ['Only one'] }, 'm')).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'Only one' }],
      max_tokens: 8192,
    });
  });

  it.each([
    [{ prompt: ['a', 'b'] }, 422],
    [{ prompt: [1, 2] as never }, 400],
    [{ prompt: 5 as never }, 400],
    [{ prompt: 'x', n: 2 }, 422],
  ])('rejects %j with %s', (request, status) => {
    let caught: unknown;
    try {
      toAnthropicCompletionsBody(request, 'm');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AdapterRequestError);
    expect((caught as AdapterRequestError).status).toBe(status);
  });
});

describe('toTextCompletion', () => {
  it('returns a text_completion with usage', () => {
    const message = parseAnthropicMessage({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5',
      content: [{ type: 'text', text: 'Hi!' }],
      stop_reason: 'max_tokens',
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 2 },
    });
    expect(toTextCompletion(message)).toEqual({
      id: 'msg_1',
      object: 'text_completion',
      created: expect.any(Number),
      model: 'claude-haiku-4-5',
      choices: [{ index: 0, text: 'Hi!', finish_reason: 'length' }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
  });
});
