import { JsonObject, ProviderConfigError } from 'src/modules/providers/provider-adapter';
import {
  OpenAIWireConfig,
  stringField,
  validBaseUrl,
} from 'src/modules/providers/adapters/openai/openai-config';

/** How a `litellm` endpoint reaches its LiteLLM proxy, and the model name the proxy is asked for. */
export interface LiteLLMConfig extends OpenAIWireConfig {
  /** `<litellm_provider>/<model.name>`, or `model.name` alone: LiteLLM's own model naming. */
  model: string;
}

/** Keys of `litellm_auth_config` a LiteLLM proxy takes per request; `auth_mode` is MLflow's UI field. */
const AUTH_CONFIG_KEYS: ReadonlySet<string> = new Set(['api_key', 'api_base', 'auth_mode']);

/**
 * MLflow's `litellm` provider config: `litellm_provider` (the LiteLLM provider prefix of the model name),
 * `litellm_api_key` and `litellm_api_base`, or the same as `api_key`/`api_base` inside
 * `litellm_auth_config` (MLflow 3's form, whose `auth_mode` is ignored). MLflow runs the LiteLLM Python
 * SDK in-process; Gatehouse calls a LiteLLM proxy, which speaks OpenAI's wire format, so the base URL
 * (the proxy's) is required, and SDK keyword arguments other than the key and base (provider
 * credentials such as `aws_access_key_id` or `vertex_project`) cannot be sent per request: they are
 * refused here, to be set in the proxy's own config.
 */
export function parseLiteLLMConfig(raw: JsonObject, modelName: string | undefined): LiteLLMConfig {
  const auth = raw.litellm_auth_config ?? undefined;
  if (auth !== undefined && auth !== null && (typeof auth !== 'object' || Array.isArray(auth)))
    throw new ProviderConfigError(
      "'litellm_auth_config' in model.config for provider 'litellm' must be a mapping.",
    );
  const authConfig = (auth ?? {}) as JsonObject;
  const unsupported = Object.keys(authConfig).filter((key) => !AUTH_CONFIG_KEYS.has(key));
  if (unsupported.length > 0) {
    throw new ProviderConfigError(
      `'litellm_auth_config' keys ${unsupported.map((k) => `'${k}'`).join(', ')} cannot be honoured: ` +
        'Gatehouse reaches LiteLLM through a LiteLLM proxy (litellm_api_base), which takes provider ' +
        "credentials in its own config, not per request. Set them in the proxy's model_list.",
    );
  }
  const key = first(raw, authConfig, 'litellm_api_key', 'api_key');
  const base = first(raw, authConfig, 'litellm_api_base', 'api_base');
  if (base === undefined) {
    throw new ProviderConfigError(
      "'litellm_api_base' is required in model.config for provider 'litellm': Gatehouse calls a LiteLLM " +
        'proxy (OpenAI-compatible) at that URL; it cannot run the LiteLLM Python SDK in-process.',
    );
  }
  if (modelName === undefined || modelName.trim() === '')
    throw new ProviderConfigError("'model.name' is required for provider 'litellm'.");
  const prefix = stringField(raw, 'litellm_provider', 'litellm', false);
  return {
    apiBase: validBaseUrl(base.value, base.key),
    apiType: 'openai',
    apiKey: key?.value,
    organization: undefined,
    apiVersion: undefined,
    deploymentName: undefined,
    // A LiteLLM proxy honours OpenAI's stream_options: usage arrives on the last chunk.
    requestStreamUsage: true,
    model: prefix ? `${prefix}/${modelName.trim()}` : modelName.trim(),
  };
}

/** `litellm_<name>` at the top of the config, else `<name>` inside `litellm_auth_config`. */
function first(
  raw: JsonObject,
  auth: JsonObject,
  topKey: string,
  authKey: string,
): { key: string; value: string } | undefined {
  const top = stringField(raw, topKey, 'litellm', false);
  if (top !== undefined) return { key: topKey, value: top };
  const nested = stringField(auth, authKey, 'litellm', false);
  return nested === undefined ? undefined : { key: `litellm_auth_config.${authKey}`, value: nested };
}
