import { JsonObject, ProviderConfigError } from 'src/modules/providers/provider-adapter';
import { stringField, validBaseUrl } from 'src/modules/providers/adapters/openai/openai-config';

export interface DatabricksConfig {
  /** Workspace URL without a trailing slash and without `/serving-endpoints`. */
  workspaceUrl: string;
  token: string;
}

/**
 * MLflow's `DatabricksConfig` keys (`host`, `token`), also under the names `databricks_workspace_url`
 * and `databricks_api_token` (and MLflow's older `databricks_api_base`). MLflow falls back to the
 * Databricks SDK's credential chain when they are absent; the gateway reads no environment behind
 * the operator's back, so both are required (write `$DATABRICKS_TOKEN` to take one from the env).
 */
export function parseDatabricksConfig(raw: JsonObject, provider: string): DatabricksConfig {
  if (raw.client_id !== undefined || raw.client_secret !== undefined) {
    throw new ProviderConfigError(
      `OAuth machine-to-machine credentials (client_id/client_secret) are not supported for provider '${provider}'; configure a personal access token in 'token'.`,
    );
  }
  const host = firstOf(raw, provider, ['host', 'databricks_workspace_url', 'databricks_api_base']);
  const token = firstOf(raw, provider, ['token', 'databricks_api_token']);
  if (host === undefined) {
    throw new ProviderConfigError(
      `'host' (the workspace URL) is required in model.config for provider '${provider}'.`,
    );
  }
  if (token === undefined) {
    throw new ProviderConfigError(`'token' is required in model.config for provider '${provider}'.`);
  }
  const base = validBaseUrl(host.value, host.key);
  // MLflow's normalize_databricks_base_url accepts the URL with or without `/serving-endpoints`.
  return { workspaceUrl: base.replace(/\/serving-endpoints$/, ''), token: token.value };
}

function firstOf(
  raw: JsonObject,
  provider: string,
  keys: readonly string[],
): { key: string; value: string } | undefined {
  for (const key of keys) {
    const value = stringField(raw, key, provider, false);
    if (value !== undefined) return { key, value };
  }
  return undefined;
}
