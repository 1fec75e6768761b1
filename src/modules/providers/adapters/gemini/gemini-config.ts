import { JsonObject, ProviderConfigError } from 'src/modules/providers/provider-adapter';

export const GEMINI_DEFAULT_API_BASE = 'https://generativelanguage.googleapis.com';

export interface GeminiConfig {
  apiKey: string;
  /** Origin (plus optional path prefix) without a trailing slash and without `/v1beta`. */
  apiBase: string;
  /** `model.name` without a leading `models/`. */
  model: string;
}

/** Model ids go into the URL path: letters, digits and `.-_@` only (`gemini-2.5-flash`, `text-embedding-004`). */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

/**
 * MLflow's `GeminiConfig` key (`gemini_api_key`, sent as `x-goog-api-key`) plus our `gemini_api_base`
 * (MLflow always calls generativelanguage.googleapis.com). Unknown keys are ignored, as MLflow's loader does.
 */
export function parseGeminiConfig(
  raw: JsonObject,
  provider: string,
  modelName: string | undefined,
): GeminiConfig {
  const apiKey = raw.gemini_api_key;
  if (typeof apiKey !== 'string' || apiKey.trim() === '') {
    throw new ProviderConfigError(`gemini_api_key is required for provider '${provider}'`);
  }
  const base = optionalString(raw, 'gemini_api_base', provider) ?? GEMINI_DEFAULT_API_BASE;
  return {
    apiKey: apiKey.trim(),
    apiBase: normaliseGoogleBase(base, 'gemini_api_base', provider, /\/v1(beta)?(\/models)?$/),
    model: googleModelId(modelName, provider, 'models/'),
  };
}

export function googleModelId(modelName: string | undefined, provider: string, prefix: string): string {
  if (modelName === undefined || modelName.trim() === '') {
    throw new ProviderConfigError(`model.name is required for provider '${provider}'`);
  }
  const id = modelName.trim().startsWith(prefix) ? modelName.trim().slice(prefix.length) : modelName.trim();
  if (!MODEL_ID.test(id)) {
    throw new ProviderConfigError(
      `model.name '${modelName}' is not a model id (letters, digits, '.', '-', '_', '@') for provider '${provider}'`,
    );
  }
  return id;
}

export function optionalString(raw: JsonObject, key: string, provider: string): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ProviderConfigError(`${key} must be a non-empty string for provider '${provider}'`);
  }
  return value.trim();
}

/** An http(s) base URL without query, fragment or credentials; `suffix` (an API version path) is dropped. */
export function normaliseGoogleBase(value: string, key: string, provider: string, suffix: RegExp): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ProviderConfigError(`${key} must be an absolute http(s) URL for provider '${provider}'`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new ProviderConfigError(
      `${key} must be an http(s) URL without query or fragment for provider '${provider}'`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ProviderConfigError(`${key} must not carry credentials for provider '${provider}'`);
  }
  const path = url.pathname.replace(/\/+$/, '').replace(suffix, '');
  return `${url.origin}${path}`;
}
