import { JsonObject, ProviderConfigError } from 'src/modules/providers/provider-adapter';
import { OpenAIAdapter } from 'src/modules/providers/adapters/openai/openai.adapter';
import {
  OpenAIWireConfig,
  stringField,
  validBaseUrl,
} from 'src/modules/providers/adapters/openai/openai-config';

interface CompatibleProfile {
  /** Config key holding the API key (MLflow's name for this provider). */
  keyField: string;
  keyRequired: boolean;
  /** Default `api_base`; undefined means the operator must give one. */
  defaultBase: string | undefined;
  baseField: string;
}

const api = (defaultBase: string | undefined, keyRequired = true): CompatibleProfile => ({
  keyField: 'api_key',
  keyRequired,
  defaultBase,
  baseField: 'api_base',
});

/**
 * Servers that speak the OpenAI wire format. MLflow's `OpenAICompatibleProvider` set (groq, deepseek,
 * xai, openrouter, ollama, portkey) with its defaults, plus togetherai and fireworks (OpenAI-compatible
 * chat/completions/embeddings APIs) and our `vllm` / `openai-compatible` for self-hosted servers.
 * Mistral's profile is read by its own adapter, which extends this one.
 */
export const COMPATIBLE_PROFILES: Record<string, CompatibleProfile> = {
  groq: api('https://api.groq.com/openai/v1'),
  deepseek: api('https://api.deepseek.com/v1'),
  xai: api('https://api.x.ai/v1'),
  openrouter: api('https://openrouter.ai/api/v1'),
  ollama: api('http://localhost:11434/v1'),
  portkey: api('https://api.portkey.ai/v1'),
  vllm: api(undefined, false),
  'openai-compatible': api(undefined, false),
  mistral: {
    keyField: 'mistral_api_key',
    keyRequired: true,
    defaultBase: 'https://api.mistral.ai/v1',
    baseField: 'mistral_api_base',
  },
  togetherai: {
    keyField: 'togetherai_api_key',
    keyRequired: true,
    defaultBase: 'https://api.together.xyz/v1',
    baseField: 'togetherai_api_base',
  },
  // Not an MLflow YAML provider; MLflow 3's UI reaches it as `fireworks_ai` through LiteLLM.
  fireworks: api('https://api.fireworks.ai/inference/v1'),
  'fireworks-ai': api('https://api.fireworks.ai/inference/v1'),
};

/** Profiles with their own adapter (an API that differs from OpenAI's where a user would notice). */
const NATIVE_ADAPTER: ReadonlySet<string> = new Set(['mistral']);

export class OpenAICompatibleAdapter extends OpenAIAdapter {
  override readonly providers: readonly string[] = Object.keys(COMPATIBLE_PROFILES).filter(
    (provider) => !NATIVE_ADAPTER.has(provider),
  );
  override readonly displayName: string = 'OpenAI-compatible';

  override parseConfig(raw: JsonObject, provider: string, _modelName: string | undefined): OpenAIWireConfig {
    const profile = COMPATIBLE_PROFILES[provider];
    if (!profile) throw new ProviderConfigError(`The provider '${provider}' is not supported.`);
    const base =
      stringField(raw, profile.baseField, provider, profile.defaultBase === undefined) ?? profile.defaultBase;
    return {
      apiBase: validBaseUrl(base as string, profile.baseField),
      apiType: 'openai',
      apiKey: stringField(raw, profile.keyField, provider, profile.keyRequired),
      organization: undefined,
      apiVersion: undefined,
      deploymentName: undefined,
      // Forward the caller's stream_options as given: not every compatible server knows the field.
      requestStreamUsage: false,
    };
  }
}
