import { ProviderConfigError } from 'src/modules/providers/provider-adapter';
import { RetiredProviderAdapter } from 'src/modules/providers/adapters/retired/retired.adapter';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';

describe('RetiredProviderAdapter', () => {
  const adapter = new RetiredProviderAdapter();

  it.each([
    ['palm', 'PaLM provider is deprecated and will be removed in a future MLflow version.'],
    ['mosaicml', 'MosaicML provider is deprecated and will be removed in a future MLflow version.'],
    ['ai21labs', 'j2-ultra, j2-mid, j2-light'],
  ])('refuses %s at config load with MLflow’s sentence', (provider, sentence) => {
    expect(() => adapter.parseConfig({ [`${provider}_api_key`]: 'k' }, provider)).toThrow(
      ProviderConfigError,
    );
    expect(() => adapter.parseConfig({}, provider)).toThrow(sentence);
  });

  it('is what the registry resolves for them, and no MLflow provider of this part is left unimplemented', () => {
    const registry = new ProviderRegistry();
    for (const provider of ['palm', 'mosaicml', 'ai21labs'])
      expect(registry.get(provider)).toBeInstanceOf(RetiredProviderAdapter);
    expect(registry.get('cohere')?.displayName).toBe('Cohere');
    expect(registry.get('databricks')?.displayName).toBe('Databricks');
    expect(registry.get('databricks-model-serving')?.displayName).toBe('Databricks');
    expect(registry.get('huggingface-text-generation-inference')?.capabilities.completions).toBe(true);
    expect(registry.get('mistral')?.displayName).toBe('Mistral');
    expect(registry.get('fireworks')?.displayName).toBe('OpenAI-compatible');
  });
});
