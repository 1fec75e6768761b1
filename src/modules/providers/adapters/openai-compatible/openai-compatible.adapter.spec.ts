import {
  ChatRequest,
  JsonObject,
  ProviderConfigError,
  TargetContext,
} from 'src/modules/providers/provider-adapter';
import {
  COMPATIBLE_PROFILES,
  OpenAICompatibleAdapter,
} from 'src/modules/providers/adapters/openai-compatible/openai-compatible.adapter';
import { OpenAIWireConfig } from 'src/modules/providers/adapters/openai/openai-config';

const adapter = new OpenAICompatibleAdapter();

function errorOf(raw: JsonObject, provider: string): unknown {
  try {
    adapter.parseConfig(raw, provider, 'm');
  } catch (error) {
    return error;
  }
  return undefined;
}

function target(raw: JsonObject, provider: string, modelName = 'm'): TargetContext<OpenAIWireConfig> {
  return {
    endpointName: 'chat',
    endpointType: 'llm/v1/chat',
    modelName,
    config: adapter.parseConfig(raw, provider, modelName),
  };
}

const chat: ChatRequest = { model: 'my-endpoint', messages: [{ role: 'user', content: 'Hi' }] };

describe('OpenAICompatibleAdapter', () => {
  it('serves the compatible providers under its own name', () => {
    expect(adapter.providers).toEqual([
      'groq',
      'deepseek',
      'xai',
      'openrouter',
      'ollama',
      'portkey',
      'vllm',
      'openai-compatible',
      'togetherai',
      'fireworks',
      'fireworks-ai',
    ]);
    expect(adapter.displayName).toBe('OpenAI-compatible');
  });

  it.each([
    ['groq', 'https://api.groq.com/openai/v1'],
    ['deepseek', 'https://api.deepseek.com/v1'],
    ['xai', 'https://api.x.ai/v1'],
    ['openrouter', 'https://openrouter.ai/api/v1'],
    ['ollama', 'http://localhost:11434/v1'],
    ['portkey', 'https://api.portkey.ai/v1'],
  ])('%s defaults api_base to %s and reads api_key', (provider, base) => {
    expect(adapter.parseConfig({ api_key: 'k' }, provider, 'm')).toEqual({
      apiBase: base,
      apiType: 'openai',
      apiKey: 'k',
      organization: undefined,
      apiVersion: undefined,
      deploymentName: undefined,
      requestStreamUsage: false,
    });
  });

  it.each([
    ['mistral', { mistral_api_key: 'k' }, 'https://api.mistral.ai/v1'],
    ['togetherai', { togetherai_api_key: 'k' }, 'https://api.together.xyz/v1'],
  ])('%s reads its own key name', (provider, raw, base) => {
    const config = adapter.parseConfig(raw, provider, 'm');
    expect(config.apiKey).toBe('k');
    expect(config.apiBase).toBe(base);
  });

  it('reads mistral_api_base for mistral (api_base is not its key)', () => {
    const config = adapter.parseConfig(
      {
        mistral_api_key: 'k',
        mistral_api_base: 'https://eu.proxy.example.com/mistral/v1/',
        api_base: 'http://ignored',
      },
      'mistral',
      'm',
    );
    expect(config.apiBase).toBe('https://eu.proxy.example.com/mistral/v1');
  });

  it.each(['vllm', 'openai-compatible'])('%s needs api_base but no api_key', (provider) => {
    expect(adapter.parseConfig({ api_base: 'http://10.0.0.5:8000/v1' }, provider, 'm')).toMatchObject({
      apiBase: 'http://10.0.0.5:8000/v1',
      apiKey: undefined,
    });
    expect(errorOf({ api_key: 'k' }, provider)).toEqual(
      new ProviderConfigError(`'api_base' is required in model.config for provider '${provider}'.`),
    );
  });

  it.each(['groq', 'deepseek', 'xai', 'openrouter', 'ollama', 'portkey'])(
    '%s requires api_key',
    (provider) => {
      expect(errorOf({}, provider)).toEqual(
        new ProviderConfigError(`'api_key' is required in model.config for provider '${provider}'.`),
      );
    },
  );

  it.each([
    ['mistral', { api_key: 'k' }, "'mistral_api_key' is required in model.config for provider 'mistral'."],
    [
      'togetherai',
      { api_key: 'k' },
      "'togetherai_api_key' is required in model.config for provider 'togetherai'.",
    ],
    ['groq', { openai_api_key: 'k' }, "'api_key' is required in model.config for provider 'groq'."],
    ['groq', { api_key: '  ' }, "'api_key' is required in model.config for provider 'groq'."],
    ['groq', { api_key: 123 }, "'api_key' in model.config for provider 'groq' must be a string."],
    ['vllm', { api_base: 42 }, "'api_base' in model.config for provider 'vllm' must be a string."],
    ['vllm', { api_base: 'localhost:8000' }, "'api_base' must be an absolute http(s) URL."],
    ['vllm', { api_base: 'vllm.internal/v1' }, "'api_base' must be an absolute http(s) URL."],
    [
      'ollama',
      { api_key: 'k', api_base: 'file:///tmp/ollama.sock' },
      "'api_base' must be an absolute http(s) URL.",
    ],
    ['openai-compatible', { api_base: 'https://h/v1?x=1' }, "'api_base' must not have a query or fragment."],
    ['openai-compatible', { api_base: 'https://u:p@h/v1' }, "'api_base' must not carry credentials."],
    [
      'mistral',
      { mistral_api_key: 'k', mistral_api_base: 'mistral' },
      "'mistral_api_base' must be an absolute http(s) URL.",
    ],
    ['anthropic', { api_key: 'k' }, "The provider 'anthropic' is not supported."],
  ])('%s rejects %j', (provider, raw, message) => {
    const error = errorOf(raw, provider);
    expect(error).toBeInstanceOf(ProviderConfigError);
    expect(error).toEqual(new ProviderConfigError(message));
  });

  it('every profile has a base or requires one', () => {
    for (const [provider, profile] of Object.entries(COMPATIBLE_PROFILES)) {
      if (profile.defaultBase !== undefined) {
        expect(() => new URL(profile.defaultBase as string)).not.toThrow();
      } else {
        expect(errorOf({}, provider)).toBeInstanceOf(ProviderConfigError);
      }
    }
  });

  describe('buildRequest', () => {
    it('sends no authorization header without an api key', () => {
      const request = adapter.buildRequest(
        'chat',
        chat,
        target({ api_base: 'http://vllm:8000/v1' }, 'vllm'),
        false,
      );
      expect(request.headers).toEqual({ 'content-type': 'application/json' });
      expect(request.url).toBe('http://vllm:8000/v1/chat/completions');
    });

    it('sends a Bearer key and never an organization or api-key header', () => {
      const request = adapter.buildRequest(
        'chat',
        chat,
        target({ api_key: 'gsk', openai_organization: 'org-1' }, 'groq'),
        false,
      );
      expect(request.headers).toEqual({ 'content-type': 'application/json', authorization: 'Bearer gsk' });
    });

    it('does not add stream_options when streaming', () => {
      const body = JSON.parse(
        adapter.buildRequest('chat', chat, target({ api_key: 'k' }, 'groq'), true).body,
      );
      expect(body).toEqual({ model: 'm', messages: chat.messages, stream: true });
    });

    it("forwards the caller's stream_options unchanged", () => {
      const request = { ...chat, stream: true, stream_options: { include_usage: false } };
      const body = JSON.parse(
        adapter.buildRequest('chat', request, target({ api_key: 'k' }, 'xai'), true).body,
      );
      expect(body.stream_options).toEqual({ include_usage: false });
    });

    it('drops stream_options from a non-streaming call', () => {
      const request = { ...chat, stream_options: { include_usage: true } };
      const body = JSON.parse(
        adapter.buildRequest('chat', request, target({ api_key: 'k' }, 'xai'), false).body,
      );
      expect(body).toEqual({ model: 'm', messages: chat.messages });
    });

    it('serves embeddings and completions on the same base', () => {
      const t = target({ api_key: 'k', api_base: 'http://ollama:11434/v1' }, 'ollama', 'nomic-embed-text');
      expect(adapter.buildRequest('embeddings', { input: 'x' }, t, false).url).toBe(
        'http://ollama:11434/v1/embeddings',
      );
      expect(adapter.buildRequest('completions', { prompt: 'x' }, t, false).url).toBe(
        'http://ollama:11434/v1/completions',
      );
    });
  });
});
