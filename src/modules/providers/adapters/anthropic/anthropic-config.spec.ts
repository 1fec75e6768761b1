import { ProviderConfigError } from 'src/modules/providers/provider-adapter';
import { parseAnthropicConfig } from 'src/modules/providers/adapters/anthropic/anthropic-config';

describe('parseAnthropicConfig', () => {
  it('applies the MLflow defaults for version and our default api base', () => {
    expect(parseAnthropicConfig({ anthropic_api_key: 'sk-ant-1' }, 'anthropic')).toEqual({
      apiKey: 'sk-ant-1',
      version: '2023-06-01',
      apiBase: 'https://api.anthropic.com',
    });
  });

  it('keeps an explicit version and api base', () => {
    const config = parseAnthropicConfig(
      {
        anthropic_api_key: 'k',
        anthropic_version: '2024-01-01',
        anthropic_api_base: 'http://127.0.0.1:4010',
      },
      'anthropic',
    );
    expect(config).toEqual({ apiKey: 'k', version: '2024-01-01', apiBase: 'http://127.0.0.1:4010' });
  });

  it.each([
    ['https://api.anthropic.com/', 'https://api.anthropic.com'],
    ['https://api.anthropic.com/v1', 'https://api.anthropic.com'],
    ['https://api.anthropic.com/v1/', 'https://api.anthropic.com'],
    ['https://proxy.example.com/anthropic/v1', 'https://proxy.example.com/anthropic'],
    ['https://proxy.example.com/anthropic', 'https://proxy.example.com/anthropic'],
  ])('normalises api base %s to %s', (input, expected) => {
    expect(
      parseAnthropicConfig({ anthropic_api_key: 'k', anthropic_api_base: input }, 'anthropic').apiBase,
    ).toBe(expected);
  });

  it.each([{}, { anthropic_api_key: '' }, { anthropic_api_key: '  ' }, { anthropic_api_key: 42 }])(
    'requires anthropic_api_key (%j)',
    (raw) => {
      expect(() => parseAnthropicConfig(raw, 'anthropic')).toThrow(
        new ProviderConfigError("anthropic_api_key is required for provider 'anthropic'"),
      );
    },
  );

  it.each([
    [{ anthropic_api_key: 'k', anthropic_version: 20230601 }, 'anthropic_version must be a non-empty string'],
    [{ anthropic_api_key: 'k', anthropic_api_base: 'not a url' }, 'anthropic_api_base must be an absolute'],
    [{ anthropic_api_key: 'k', anthropic_api_base: 'ftp://example.com' }, 'without query or fragment'],
    [{ anthropic_api_key: 'k', anthropic_api_base: 'https://example.com/?x=1' }, 'without query or fragment'],
    [{ anthropic_api_key: 'k', anthropic_api_base: 'https://u:p@example.com' }, 'must not carry credentials'],
  ])('rejects bad values (%j)', (raw, message) => {
    expect(() => parseAnthropicConfig(raw, 'anthropic')).toThrow(ProviderConfigError);
    expect(() => parseAnthropicConfig(raw, 'anthropic')).toThrow(message);
  });
});
