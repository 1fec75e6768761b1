import { JsonObject } from 'src/modules/providers/provider-adapter';
import { stringField, validBaseUrl } from 'src/modules/providers/adapters/openai/openai-config';

export interface TgiConfig {
  /** The TGI server's base URL without a trailing slash; `/generate` and `/generate_stream` are appended. */
  serverUrl: string;
  /** Bearer token for a TGI behind an authenticating proxy (Hugging Face Inference Endpoints). */
  apiKey: string | undefined;
}

/** MLflow's `HuggingFaceTextGenerationInferenceConfig` (`hf_server_url`) plus our optional `hf_api_key`. */
export function parseTgiConfig(raw: JsonObject, provider: string): TgiConfig {
  const url = stringField(raw, 'hf_server_url', provider, true) as string;
  return {
    serverUrl: validBaseUrl(url, 'hf_server_url'),
    apiKey: stringField(raw, 'hf_api_key', provider, false),
  };
}
