import { JsonObject, ProviderConfigError } from 'src/modules/providers/provider-adapter';
import { stringField, validBaseUrl } from 'src/modules/providers/adapters/openai/openai-config';

export const COHERE_DEFAULT_API_BASE = 'https://api.cohere.com';

export interface CohereConfig {
  apiKey: string;
  /** Origin (plus optional path prefix) without a trailing slash; `/v2/...` is appended. */
  apiBase: string;
}

/**
 * MLflow's `CohereConfig` key (`cohere_api_key`) plus our `cohere_api_base` for private deployments
 * and tests. Unknown keys are ignored, as MLflow's YAML loader tolerates them.
 */
export function parseCohereConfig(raw: JsonObject, provider: string): CohereConfig {
  const apiKey = stringField(raw, 'cohere_api_key', provider, true);
  if (apiKey === undefined) throw new ProviderConfigError(`'cohere_api_key' is required for '${provider}'.`);
  const base = validBaseUrl(
    stringField(raw, 'cohere_api_base', provider, false) ?? COHERE_DEFAULT_API_BASE,
    'cohere_api_base',
  );
  // MLflow and older examples wrote the base with an API version (`https://api.cohere.ai/v1`).
  return { apiKey, apiBase: base.replace(/\/v[12]$/, '') };
}
