import { JsonObject, ProviderConfigError } from 'src/modules/providers/provider-adapter';

export type OpenAIApiType = 'openai' | 'azure' | 'azuread';

/** How one configured OpenAI-wire target is reached. Built once from the YAML. */
export interface OpenAIWireConfig {
  apiBase: string;
  apiType: OpenAIApiType;
  /** `Authorization: Bearer` value, or the Azure `api-key` header value. */
  apiKey: string | undefined;
  organization: string | undefined;
  apiVersion: string | undefined;
  deploymentName: string | undefined;
  /** Ask the upstream for a usage chunk at the end of every stream (OpenAI's `stream_options`). */
  requestStreamUsage: boolean;
}

export function stringField(
  raw: JsonObject,
  key: string,
  provider: string,
  required: boolean,
): string | undefined {
  const value = raw[key];
  // A blank value (e.g. an unset `$ENV` substitution) counts as missing rather than as a key of spaces.
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    if (required)
      throw new ProviderConfigError(`'${key}' is required in model.config for provider '${provider}'.`);
    return undefined;
  }
  if (typeof value !== 'string') {
    throw new ProviderConfigError(`'${key}' in model.config for provider '${provider}' must be a string.`);
  }
  return value.trim();
}

export function validBaseUrl(value: string, key: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ProviderConfigError(`'${key}' must be an absolute http(s) URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProviderConfigError(`'${key}' must be an absolute http(s) URL.`);
  }
  // Paths are appended to the base, so a query or fragment would end up in the middle of the URL.
  if (url.search !== '' || url.hash !== '') {
    throw new ProviderConfigError(`'${key}' must not have a query or fragment.`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ProviderConfigError(`'${key}' must not carry credentials.`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** MLflow's OpenAIConfig: openai_api_key, openai_api_type, openai_api_base, openai_organization, Azure keys. */
export function parseOpenAIConfig(raw: JsonObject, provider: string): OpenAIWireConfig {
  const defaultType: OpenAIApiType = provider === 'azure' ? 'azure' : 'openai';
  const typeValue = (stringField(raw, 'openai_api_type', provider, false) ?? defaultType).toLowerCase();
  if (typeValue !== 'openai' && typeValue !== 'azure' && typeValue !== 'azuread') {
    throw new ProviderConfigError(
      `'openai_api_type' must be one of openai, azure, azuread (got '${typeValue}').`,
    );
  }
  const apiType: OpenAIApiType = typeValue;
  const apiKey = stringField(raw, 'openai_api_key', provider, true);
  const baseValue = stringField(raw, 'openai_api_base', provider, apiType !== 'openai');
  const isAzure = apiType !== 'openai';
  return {
    apiBase: validBaseUrl(baseValue ?? 'https://api.openai.com/v1', 'openai_api_base'),
    apiType,
    apiKey,
    organization: isAzure ? undefined : stringField(raw, 'openai_organization', provider, false),
    apiVersion: stringField(raw, 'openai_api_version', provider, isAzure),
    deploymentName: stringField(raw, 'openai_deployment_name', provider, isAzure),
    // Azure accepts stream_options only from api-version 2024-09-01-preview; older versions reject it.
    requestStreamUsage: apiType === 'openai',
  };
}
