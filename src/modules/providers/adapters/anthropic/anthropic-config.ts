import { JsonObject, ProviderConfigError } from 'src/modules/providers/provider-adapter';

export const ANTHROPIC_DEFAULT_VERSION = '2023-06-01';
export const ANTHROPIC_DEFAULT_API_BASE = 'https://api.anthropic.com';

export interface AnthropicConfig {
  apiKey: string;
  /** Sent as the `anthropic-version` header. */
  version: string;
  /** Origin (plus optional path prefix) without a trailing slash and without `/v1`. */
  apiBase: string;
}

/**
 * MLflow's `AnthropicConfig` keys (`anthropic_api_key`, `anthropic_version`) plus our
 * `anthropic_api_base`. Unknown keys are ignored, as MLflow's YAML loader tolerates them.
 */
export function parseAnthropicConfig(raw: JsonObject, provider: string): AnthropicConfig {
  const apiKey = raw.anthropic_api_key;
  if (typeof apiKey !== 'string' || apiKey.trim() === '') {
    throw new ProviderConfigError(`anthropic_api_key is required for provider '${provider}'`);
  }
  const version = optionalString(raw, 'anthropic_version', provider) ?? ANTHROPIC_DEFAULT_VERSION;
  const apiBase = normaliseApiBase(
    optionalString(raw, 'anthropic_api_base', provider) ?? ANTHROPIC_DEFAULT_API_BASE,
    provider,
  );
  return { apiKey, version, apiBase };
}

function optionalString(raw: JsonObject, key: string, provider: string): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ProviderConfigError(`${key} must be a non-empty string for provider '${provider}'`);
  }
  return value.trim();
}

function normaliseApiBase(value: string, provider: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ProviderConfigError(
      `anthropic_api_base must be an absolute http(s) URL for provider '${provider}'`,
    );
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new ProviderConfigError(
      `anthropic_api_base must be an http(s) URL without query or fragment for provider '${provider}'`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ProviderConfigError(`anthropic_api_base must not carry credentials for provider '${provider}'`);
  }
  // Older MLflow examples wrote the base as `https://api.anthropic.com/v1`; we append `/v1/messages`.
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${url.origin}${path}`;
}
