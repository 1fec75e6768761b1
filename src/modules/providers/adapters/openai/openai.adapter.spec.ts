import {
  ChatRequest,
  EmbeddingsRequest,
  JsonObject,
  Operation,
  TargetContext,
  UpstreamProtocolError,
} from 'src/modules/providers/provider-adapter';
import { OpenAIAdapter } from 'src/modules/providers/adapters/openai/openai.adapter';
import { OpenAIWireConfig } from 'src/modules/providers/adapters/openai/openai-config';

const adapter = new OpenAIAdapter();

const AZURE = {
  openai_api_key: 'azure-key',
  openai_api_type: 'azure',
  openai_api_base: 'https://contoso.openai.azure.com',
  openai_deployment_name: 'gpt-4o-prod',
  openai_api_version: '2024-10-21',
};

function target(
  raw: JsonObject = { openai_api_key: 'sk-test' },
  provider = 'openai',
  modelName: string | undefined = 'gpt-4o-mini',
): TargetContext<OpenAIWireConfig> {
  return {
    endpointName: 'chat',
    endpointType: 'llm/v1/chat',
    modelName,
    config: adapter.parseConfig(raw, provider, modelName),
  };
}

const chat: ChatRequest = { model: 'my-endpoint', messages: [{ role: 'user', content: 'Hi' }] };

function protocolError(op: Operation, body: unknown): unknown {
  try {
    adapter.parseResponse(op, body, target());
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('OpenAIAdapter', () => {
  it('declares the providers and capabilities', () => {
    expect(adapter.providers).toEqual(['openai', 'azure']);
    expect(adapter.displayName).toBe('OpenAI');
    expect(adapter.capabilities).toEqual({
      chat: true,
      chatStream: true,
      completions: true,
      completionsStream: true,
      embeddings: true,
    });
  });

  describe('buildRequest', () => {
    it('sends only the Bearer key to OpenAI (no api-key, no organization unless configured)', () => {
      const request = adapter.buildRequest('chat', chat, target(), false);
      expect(request.headers).toEqual({
        'content-type': 'application/json',
        authorization: 'Bearer sk-test',
      });
    });

    it('sends only the api-key header to Azure, never authorization or organization', () => {
      const request = adapter.buildRequest(
        'chat',
        chat,
        target({ ...AZURE, openai_organization: 'org-1' }),
        false,
      );
      expect(request.headers).toEqual({ 'content-type': 'application/json', 'api-key': 'azure-key' });
    });

    it('sends a Bearer token and no api-key to Azure AD', () => {
      const request = adapter.buildRequest(
        'chat',
        chat,
        target({ ...AZURE, openai_api_type: 'azuread' }),
        false,
      );
      expect(request.headers).toEqual({
        'content-type': 'application/json',
        authorization: 'Bearer azure-key',
      });
    });

    it('escapes the deployment name and api version in the Azure URL', () => {
      const config = {
        ...AZURE,
        openai_deployment_name: 'gpt 4o/prod',
        openai_api_version: '2024-10-21&x=1',
      };
      expect(adapter.buildRequest('embeddings', { input: 'x' }, target(config), false).url).toBe(
        'https://contoso.openai.azure.com/openai/deployments/gpt%204o%2Fprod/embeddings?api-version=2024-10-21%26x%3D1',
      );
    });

    it('keeps an api base path prefix', () => {
      const t = target({ openai_api_key: 'k', openai_api_base: 'http://litellm.internal:4000/openai/v1/' });
      expect(adapter.buildRequest('completions', { prompt: 'x' }, t, false).url).toBe(
        'http://litellm.internal:4000/openai/v1/completions',
      );
    });

    it("drops the caller's model when no model name is configured", () => {
      const t: TargetContext<OpenAIWireConfig> = { ...target(), modelName: undefined };
      const body = JSON.parse(adapter.buildRequest('chat', chat, t, false).body);
      expect(body).toEqual({ messages: chat.messages });
    });

    it('removes stream and stream_options from a non-streaming call', () => {
      const request = { ...chat, stream: true, stream_options: { include_usage: true } };
      const body = JSON.parse(adapter.buildRequest('chat', request, target(), false).body);
      expect(body).toEqual({ model: 'gpt-4o-mini', messages: chat.messages });
    });

    it('always asks OpenAI for include_usage when streaming and keeps other stream_options', () => {
      const request = { ...chat, stream_options: { include_usage: false, include_obfuscation: false } };
      const body = JSON.parse(adapter.buildRequest('chat', request, target(), true).body);
      expect(body.stream).toBe(true);
      expect(body.stream_options).toEqual({ include_usage: true, include_obfuscation: false });
    });

    it('leaves embeddings bodies alone apart from the model', () => {
      const request: EmbeddingsRequest = {
        model: 'emb',
        input: ['a', 'b'],
        encoding_format: 'base64',
        user: 'u',
      };
      const body = JSON.parse(adapter.buildRequest('embeddings', request, target(), false).body);
      expect(body).toEqual({ model: 'gpt-4o-mini', input: ['a', 'b'], encoding_format: 'base64', user: 'u' });
    });

    it('does not mutate the canonical request', () => {
      const request = { ...chat, stream: true };
      adapter.buildRequest('chat', request, target(), true);
      expect(request).toEqual({ ...chat, stream: true });
    });
  });

  describe('parseResponse', () => {
    it.each([
      ['chat', null, 'response is not a JSON object'],
      ['chat', '<html>502 Bad Gateway</html>', 'response is not a JSON object'],
      ['chat', 42, 'response is not a JSON object'],
      [
        'chat',
        { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini' },
        "response has no 'choices' array",
      ],
      [
        'chat',
        { id: 'chatcmpl-1', object: 'chat.completion', choices: null },
        "response has no 'choices' array",
      ],
      ['chat', { error: { message: 'overloaded', type: 'server_error' } }, "response has no 'choices' array"],
      [
        'completions',
        { id: 'cmpl-1', object: 'text_completion', choices: {} },
        "response has no 'choices' array",
      ],
      ['embeddings', { object: 'list', model: 'text-embedding-3-small' }, "response has no 'data' array"],
      ['embeddings', { object: 'list', data: 'AAAA' }, "response has no 'data' array"],
    ] as [Operation, unknown, string][])(
      'a malformed 2xx %s body is an UpstreamProtocolError (%j)',
      (op, body, message) => {
        const error = protocolError(op, body);
        expect(error).toBeInstanceOf(UpstreamProtocolError);
        expect((error as Error).message).toBe(message);
      },
    );

    it('fills in a missing object type', () => {
      expect(
        adapter.parseResponse('embeddings', { data: [], model: 'm', usage: {} }, target()),
      ).toMatchObject({
        object: 'list',
      });
      expect(adapter.parseResponse('chat', { id: 'x', choices: [] }, target())).toMatchObject({
        object: 'chat.completion',
      });
      expect(adapter.parseResponse('completions', { id: 'x', choices: [] }, target())).toMatchObject({
        object: 'text_completion',
      });
    });
  });

  describe('parseError', () => {
    it('reads the OpenAI error object, with param when the upstream names one', () => {
      const body = {
        error: {
          message: "Invalid type for 'temperature': expected a decimal, but got a string instead.",
          type: 'invalid_request_error',
          param: 'temperature',
          code: 'invalid_type',
        },
      };
      expect(adapter.parseError(400, body)).toEqual({
        message: "Invalid type for 'temperature': expected a decimal, but got a string instead.",
        type: 'invalid_request_error',
        param: 'temperature',
        code: 'invalid_type',
      });
    });

    it('leaves out a null param and keeps a null code', () => {
      const info = adapter.parseError(500, {
        error: { message: 'The server had an error', type: 'server_error', param: null, code: null },
      });
      expect(info).toStrictEqual({ message: 'The server had an error', type: 'server_error', code: null });
    });

    it.each([
      [{ error: 'model not found' }, { message: 'model not found' }],
      [{ detail: 'Not Found' }, { message: 'Not Found' }],
      [{ message: 'Unauthorized' }, { message: 'Unauthorized' }],
      [{ error: { type: 'server_error' } }, { message: 'upstream returned HTTP 503' }],
      [{ detail: [{ loc: ['body'], msg: 'field required' }] }, { message: 'upstream returned HTTP 503' }],
      ['<html><body>upstream connect error</body></html>', { message: 'upstream returned HTTP 503' }],
      [null, { message: 'upstream returned HTTP 503' }],
      [undefined, { message: 'upstream returned HTTP 503' }],
    ])('handles other error bodies (%j)', (body, expected) => {
      expect(adapter.parseError(503, body)).toStrictEqual(expected);
    });
  });

  describe('stream translator', () => {
    const translator = () => adapter.createStreamTranslator('chat', target());
    const chunk = (finish: string | null) =>
      JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'gpt-4o-mini',
        choices: [{ index: 0, delta: {}, finish_reason: finish }],
      });

    it('passes chunks through and finishes on a finish reason', () => {
      const t = translator();
      expect(t.push({ data: chunk(null) }).chunks).toEqual([JSON.parse(chunk(null))]);
      expect(t.finished).toBe(false);
      t.push({ data: chunk('length') });
      expect(t.finished).toBe(true);
      expect(t.push({ data: '[DONE]' })).toEqual({ chunks: [], done: true });
    });

    it.each([
      'not json',
      '42',
      'null',
      '"text"',
      JSON.stringify({ id: 'x', object: 'chat.completion.chunk' }),
    ])('reports a malformed event (%s)', (data) => {
      expect(translator().push({ data })).toEqual({
        chunks: [],
        error: { message: 'malformed upstream stream event' },
      });
    });

    it('reports an in-stream error without a message generically', () => {
      expect(translator().push({ data: '{"error":{"code":"boom"}}' })).toEqual({
        chunks: [],
        error: { message: 'upstream stream error' },
      });
    });
  });
});
