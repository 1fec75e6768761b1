import { parseLiteLLMConfig } from 'src/modules/providers/adapters/litellm/litellm-config';
import { ProviderConfigError } from 'src/modules/providers/provider-adapter';

describe('litellm config (MLflow keys, through a LiteLLM proxy)', () => {
  it('prefixes the model with litellm_provider, as MLflow names LiteLLM models', () => {
    const config = parseLiteLLMConfig(
      { litellm_provider: 'anthropic', litellm_api_key: 'k', litellm_api_base: 'http://proxy:4000/' },
      'claude-3-5-sonnet',
    );
    expect(config).toMatchObject({
      model: 'anthropic/claude-3-5-sonnet',
      apiKey: 'k',
      apiBase: 'http://proxy:4000',
      requestStreamUsage: true,
    });
    expect(parseLiteLLMConfig({ litellm_api_base: 'http://proxy:4000' }, 'gpt-4o').model).toBe('gpt-4o');
  });

  it("reads MLflow 3's litellm_auth_config; the top-level keys win", () => {
    const nested = parseLiteLLMConfig(
      { litellm_auth_config: { auth_mode: 'api_key', api_key: 'a', api_base: 'http://a:1' } },
      'm',
    );
    expect([nested.apiKey, nested.apiBase]).toEqual(['a', 'http://a:1']);
    const both = parseLiteLLMConfig(
      {
        litellm_api_key: 'top',
        litellm_api_base: 'http://top:1',
        litellm_auth_config: { api_key: 'a', api_base: 'http://a:1' },
      },
      'm',
    );
    expect([both.apiKey, both.apiBase]).toEqual(['top', 'http://top:1']);
  });

  it.each([
    [{ litellm_api_key: 'k' }, 'm', /'litellm_api_base' is required/],
    [{ litellm_api_base: 'http://p:1' }, undefined, /'model.name' is required/],
    [{ litellm_api_base: 'ftp://p' }, 'm', /'litellm_api_base' must be an absolute http\(s\) URL/],
    [
      { litellm_auth_config: { api_base: 'http://p:1', vertex_project: 'x' } },
      'm',
      /'vertex_project' cannot be honoured: .*proxy/,
    ],
    [{ litellm_api_base: 'http://p:1', litellm_auth_config: 'key' }, 'm', /must be a mapping/],
    [{ litellm_api_base: 'http://p:1', litellm_api_key: 12 }, 'm', /must be a string/],
  ])('refuses %j (model %s) with a config error', (raw, model, message) => {
    expect(() => parseLiteLLMConfig(raw, model)).toThrow(ProviderConfigError);
    expect(() => parseLiteLLMConfig(raw, model)).toThrow(message);
  });
});
