import { JsonObject, ProviderConfigError } from 'src/modules/providers/provider-adapter';
import { parseOpenAIConfig } from 'src/modules/providers/adapters/openai/openai-config';

const AZURE = {
  openai_api_key: 'azure-key',
  openai_api_type: 'azure',
  openai_api_base: 'https://contoso.openai.azure.com',
  openai_deployment_name: 'gpt-4o-prod',
  openai_api_version: '2024-10-21',
};

function errorOf(raw: JsonObject, provider = 'openai'): unknown {
  try {
    parseOpenAIConfig(raw, provider);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('parseOpenAIConfig', () => {
  it('applies the OpenAI defaults', () => {
    expect(parseOpenAIConfig({ openai_api_key: 'sk-1' }, 'openai')).toEqual({
      apiBase: 'https://api.openai.com/v1',
      apiType: 'openai',
      apiKey: 'sk-1',
      organization: undefined,
      apiVersion: undefined,
      deploymentName: undefined,
      requestStreamUsage: true,
    });
  });

  it('keeps the organization and an explicit api base (trailing slashes dropped)', () => {
    const config = parseOpenAIConfig(
      {
        openai_api_key: 'sk-1',
        openai_organization: 'org-1',
        openai_api_base: 'https://proxy.example.com/openai/v1//',
      },
      'openai',
    );
    expect(config.organization).toBe('org-1');
    expect(config.apiBase).toBe('https://proxy.example.com/openai/v1');
  });

  it('trims surrounding whitespace from values', () => {
    const config = parseOpenAIConfig(
      { openai_api_key: ' sk-1\n', openai_api_base: ' http://localhost:8080/v1/ ' },
      'openai',
    );
    expect(config.apiKey).toBe('sk-1');
    expect(config.apiBase).toBe('http://localhost:8080/v1');
  });

  it('reads the Azure keys for openai_api_type azure', () => {
    expect(
      parseOpenAIConfig({ ...AZURE, openai_api_base: 'https://contoso.openai.azure.com/' }, 'openai'),
    ).toEqual({
      apiBase: 'https://contoso.openai.azure.com',
      apiType: 'azure',
      apiKey: 'azure-key',
      organization: undefined,
      apiVersion: '2024-10-21',
      deploymentName: 'gpt-4o-prod',
      requestStreamUsage: false,
    });
  });

  it('accepts azuread and the api type in any case', () => {
    expect(parseOpenAIConfig({ ...AZURE, openai_api_type: 'AzureAD' }, 'openai').apiType).toBe('azuread');
    expect(parseOpenAIConfig({ ...AZURE, openai_api_type: 'AZURE' }, 'openai').apiType).toBe('azure');
    expect(parseOpenAIConfig({ openai_api_key: 'k', openai_api_type: 'OpenAI' }, 'openai').apiType).toBe(
      'openai',
    );
  });

  it('defaults the api type to azure for provider azure', () => {
    const raw: JsonObject = { ...AZURE };
    delete raw.openai_api_type;
    expect(parseOpenAIConfig(raw, 'azure').apiType).toBe('azure');
  });

  it('ignores openai_organization for Azure (no OpenAI-Organization header there)', () => {
    expect(
      parseOpenAIConfig({ ...AZURE, openai_organization: 'org-1' }, 'openai').organization,
    ).toBeUndefined();
  });

  it.each([{}, { openai_api_key: '' }, { openai_api_key: '   ' }, { openai_api_key: null }])(
    'requires openai_api_key (%j)',
    (raw) => {
      expect(errorOf(raw)).toEqual(
        new ProviderConfigError("'openai_api_key' is required in model.config for provider 'openai'."),
      );
    },
  );

  it('names the provider in the message', () => {
    expect(errorOf({}, 'azure')).toEqual(
      new ProviderConfigError("'openai_api_key' is required in model.config for provider 'azure'."),
    );
  });

  it.each([
    ['openai_api_base', "'openai_api_base' is required in model.config for provider 'openai'."],
    ['openai_deployment_name', "'openai_deployment_name' is required in model.config for provider 'openai'."],
    ['openai_api_version', "'openai_api_version' is required in model.config for provider 'openai'."],
  ])('requires %s for Azure', (key, message) => {
    const raw: JsonObject = { ...AZURE };
    delete raw[key];
    expect(errorOf(raw)).toEqual(new ProviderConfigError(message));
    expect(errorOf({ ...raw, openai_api_type: 'azuread' })).toEqual(new ProviderConfigError(message));
  });

  it('does not require the Azure keys for openai', () => {
    expect(() => parseOpenAIConfig({ openai_api_key: 'k' }, 'openai')).not.toThrow();
  });

  it.each([
    [
      { openai_api_key: 'k', openai_api_type: 'vertex' },
      "'openai_api_type' must be one of openai, azure, azuread (got 'vertex').",
    ],
    [{ openai_api_key: 42 }, "'openai_api_key' in model.config for provider 'openai' must be a string."],
    [
      { openai_api_key: 'k', openai_api_type: true },
      "'openai_api_type' in model.config for provider 'openai' must be a string.",
    ],
    [
      { openai_api_key: 'k', openai_organization: ['org'] },
      "'openai_organization' in model.config for provider 'openai' must be a string.",
    ],
    [
      { openai_api_key: 'k', openai_api_base: 'api.openai.com/v1' },
      "'openai_api_base' must be an absolute http(s) URL.",
    ],
    [{ openai_api_key: 'k', openai_api_base: '/v1' }, "'openai_api_base' must be an absolute http(s) URL."],
    [
      { openai_api_key: 'k', openai_api_base: 'ftp://files.example.com' },
      "'openai_api_base' must be an absolute http(s) URL.",
    ],
    [
      { openai_api_key: 'k', openai_api_base: 'https://proxy.example.com/v1?key=1' },
      "'openai_api_base' must not have a query or fragment.",
    ],
    [
      { openai_api_key: 'k', openai_api_base: 'https://proxy.example.com/v1#x' },
      "'openai_api_base' must not have a query or fragment.",
    ],
    [
      { openai_api_key: 'k', openai_api_base: 'https://user:pw@proxy.example.com/v1' },
      "'openai_api_base' must not carry credentials.",
    ],
    [
      { ...AZURE, openai_api_base: 'contoso.openai.azure.com' },
      "'openai_api_base' must be an absolute http(s) URL.",
    ],
    [
      { ...AZURE, openai_api_version: 20241021 },
      "'openai_api_version' in model.config for provider 'openai' must be a string.",
    ],
  ])('rejects %j', (raw, message) => {
    expect(errorOf(raw)).toEqual(new ProviderConfigError(message));
  });

  it('throws ProviderConfigError instances', () => {
    expect(errorOf({})).toBeInstanceOf(ProviderConfigError);
  });
});
