import {
  AdapterRequestError,
  ProviderConfigError,
  TargetContext,
} from 'src/modules/providers/provider-adapter';
import { CohereAdapter } from 'src/modules/providers/adapters/cohere/cohere.adapter';
import { CohereConfig } from 'src/modules/providers/adapters/cohere/cohere-config';

const adapter = new CohereAdapter();

function target(modelName: string | undefined = 'command-a-03-2025'): TargetContext<CohereConfig> {
  return {
    endpointName: 'e',
    endpointType: 'llm/v1/chat',
    modelName,
    config: adapter.parseConfig({ cohere_api_key: 'k' }, 'cohere', modelName),
  };
}

function refusal(fn: () => unknown): AdapterRequestError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AdapterRequestError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('CohereAdapter', () => {
  it('requires cohere_api_key and a well-formed cohere_api_base, and drops a version suffix', () => {
    expect(() => adapter.parseConfig({}, 'cohere', 'm')).toThrow(ProviderConfigError);
    expect(() =>
      adapter.parseConfig({ cohere_api_key: 'k', cohere_api_base: 'ftp://x' }, 'cohere', 'm'),
    ).toThrow("'cohere_api_base' must be an absolute http(s) URL.");
    expect(
      adapter.parseConfig(
        { cohere_api_key: 'k', cohere_api_base: 'https://api.cohere.ai/v1' },
        'cohere',
        'm',
      ),
    ).toEqual({
      apiKey: 'k',
      apiBase: 'https://api.cohere.ai',
    });
  });

  it('needs model.name, as v2 requires a model on every call', () => {
    const error = refusal(() =>
      adapter.buildRequest('chat', { messages: [{ role: 'user', content: 'x' }] }, target(''), false),
    );
    expect([error.status, error.message]).toEqual([
      400,
      'The Cohere provider needs model.name in the endpoint configuration.',
    ]);
  });

  it('refuses a tool_choice naming a tool that is not offered, and non-function tools', () => {
    const named = refusal(() =>
      adapter.buildRequest(
        'chat',
        {
          messages: [{ role: 'user', content: 'x' }],
          tools: [{ type: 'function', function: { name: 'a' } }],
          tool_choice: { type: 'function', function: { name: 'b' } },
        },
        target(),
        false,
      ),
    );
    expect([named.status, named.param]).toEqual([400, 'tool_choice']);
    const kind = refusal(() =>
      adapter.buildRequest(
        'chat',
        {
          messages: [{ role: 'user', content: 'x' }],
          tools: [{ type: 'code_interpreter', function: { name: 'a' } }],
        },
        target(),
        false,
      ),
    );
    expect(kind.message).toBe("Cohere supports only function tools, got 'code_interpreter'.");
  });

  it('refuses token-id embeddings input and an unknown input_type', () => {
    expect(
      refusal(() => adapter.buildRequest('embeddings', { input: [1, 2, 3] }, target('embed-v4.0'), false))
        .param,
    ).toBe('input');
    expect(
      refusal(() =>
        adapter.buildRequest('embeddings', { input: 'x', input_type: 'poem' }, target('embed-v4.0'), false),
      ).param,
    ).toBe('input_type');
  });

  it('refuses several prompts for completions and a role Cohere does not know', () => {
    expect(
      refusal(() => adapter.buildRequest('completions', { prompt: ['a', 'b'] }, target(), false)).param,
    ).toBe('prompt');
    expect(
      refusal(() =>
        adapter.buildRequest('chat', { messages: [{ role: 'function', content: 'x' }] }, target(), false),
      ).message,
    ).toBe("messages[0]: role 'function' is not supported by Cohere.");
  });

  it('maps json_schema response formats and tool_choice none', () => {
    const upstream = adapter.buildRequest(
      'chat',
      {
        messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' } } },
        tools: [{ type: 'function', function: { name: 'a' } }],
        tool_choice: 'none',
      },
      target(),
      false,
    );
    expect(JSON.parse(upstream.body)).toMatchObject({
      response_format: { type: 'json_object', json_schema: { type: 'object' } },
      tool_choice: 'NONE',
    });
  });

  it('treats a stream without message-start as malformed and reports a message-end error', () => {
    const translator = adapter.createStreamTranslator('chat', target());
    expect(
      translator.push({ data: '{"type":"content-delta","delta":{"message":{"content":{"text":"x"}}}}' })
        .error,
    ).toEqual({
      message: 'malformed upstream stream event',
    });
    const other = adapter.createStreamTranslator('chat', target());
    other.push({ data: '{"type":"message-start","id":"i"}' });
    const end = other.push({
      data: '{"type":"message-end","delta":{"finish_reason":"ERROR","error":"generation failed"}}',
    });
    expect([end.done, end.error, other.finished]).toEqual([true, { message: 'generation failed' }, true]);
  });
});
