import { AdapterRequestError, TargetContext, TextCompletion } from 'src/modules/providers/provider-adapter';
import { AnthropicAdapter } from 'src/modules/providers/adapters/anthropic/anthropic.adapter';
import { AnthropicConfig } from 'src/modules/providers/adapters/anthropic/anthropic-config';
import { AnthropicChatStreamTranslator } from 'src/modules/providers/adapters/anthropic/chat-completions-stream.transform';

const adapter = new AnthropicAdapter();

function target(overrides: Partial<TargetContext<AnthropicConfig>> = {}): TargetContext<AnthropicConfig> {
  return {
    endpointName: 'chat',
    endpointType: 'llm/v1/chat',
    modelName: 'claude-sonnet-4-5',
    config: adapter.parseConfig({ anthropic_api_key: 'sk-ant-test' }, 'anthropic', 'claude-sonnet-4-5'),
    ...overrides,
  };
}

function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof AdapterRequestError) return error.status;
    throw error;
  }
  return undefined;
}

describe('AnthropicAdapter', () => {
  it('declares the provider and capabilities', () => {
    expect(adapter.providers).toEqual(['anthropic']);
    expect(adapter.displayName).toBe('Anthropic');
    expect(adapter.capabilities).toEqual({
      chat: true,
      chatStream: true,
      completions: true,
      completionsStream: false,
      embeddings: false,
    });
  });

  it('posts to /v1/messages with the Anthropic headers', () => {
    const request = adapter.buildRequest(
      'chat',
      { messages: [{ role: 'user', content: 'Hi' }] },
      target(),
      true,
    );
    expect(request).toEqual({
      url: 'https://api.anthropic.com/v1/messages',
      method: 'POST',
      headers: {
        'x-api-key': 'sk-ant-test',
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 8192,
        stream: true,
      }),
    });
  });

  it('takes the model from the target, never from the client body', () => {
    const request = adapter.buildRequest(
      'chat',
      { model: 'claude-opus-4-1', messages: [{ role: 'user', content: 'Hi' }] },
      target({ modelName: 'claude-haiku-4-5' }),
      false,
    );
    expect(JSON.parse(request.body)).toMatchObject({ model: 'claude-haiku-4-5' });
  });

  it('uses a configured api base', () => {
    const config = adapter.parseConfig(
      {
        anthropic_api_key: 'k',
        anthropic_api_base: 'http://127.0.0.1:9999/',
        anthropic_version: '2099-01-01',
      },
      'anthropic',
      'claude-sonnet-4-5',
    );
    const request = adapter.buildRequest('completions', { prompt: 'x' }, target({ config }), false);
    expect(request.url).toBe('http://127.0.0.1:9999/v1/messages');
    expect(request.headers['anthropic-version']).toBe('2099-01-01');
  });

  it('needs a model name', () => {
    expect(
      statusOf(() => adapter.buildRequest('chat', { messages: [] }, target({ modelName: undefined }), false)),
    ).toBe(400);
  });

  it('refuses streamed completions and embeddings', () => {
    expect(statusOf(() => adapter.buildRequest('completions', { prompt: 'x' }, target(), true))).toBe(422);
    expect(statusOf(() => adapter.buildRequest('embeddings', { input: 'x' }, target(), false))).toBe(501);
    expect(statusOf(() => adapter.createStreamTranslator('completions', target()))).toBe(422);
    expect(statusOf(() => adapter.createStreamTranslator('embeddings', target()))).toBe(501);
    expect(statusOf(() => adapter.parseResponse('embeddings', {}, target()))).toBe(501);
  });

  it('parses completions responses as text_completion', () => {
    const response = adapter.parseResponse(
      'completions',
      {
        id: 'msg_x',
        type: 'message',
        role: 'assistant',
        model: 'claude-haiku-4-5',
        content: [{ type: 'text', text: 'done' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 1, output_tokens: 1 },
      },
      target(),
    ) as TextCompletion;
    expect(response.object).toBe('text_completion');
    expect(response.choices[0].text).toBe('done');
  });

  it('creates a fresh translator per stream', () => {
    const a = adapter.createStreamTranslator('chat', target());
    const b = adapter.createStreamTranslator('chat', target());
    expect(a).toBeInstanceOf(AnthropicChatStreamTranslator);
    expect(a).not.toBe(b);
  });

  it('delegates error parsing', () => {
    expect(
      adapter.parseError(529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
    ).toEqual({
      message: 'Overloaded',
      type: 'overloaded_error',
    });
  });
});
