import { JsonObject, ProviderConfigError } from 'src/modules/providers/provider-adapter';
import {
  googleModelId,
  normaliseGoogleBase,
  optionalString,
} from 'src/modules/providers/adapters/gemini/gemini-config';
import {
  AccessTokenSource,
  parseServiceAccountKey,
  tokenSourceFor,
} from 'src/modules/providers/adapters/vertex-ai/vertex-credentials';

export interface VertexAIConfig {
  project: string;
  location: string;
  /** `https://{location}-aiplatform.googleapis.com`, the bare host for `global`, or `vertex_api_base`. */
  origin: string;
  /** `model.name` without a leading `publishers/google/models/`. */
  model: string;
  tokens: AccessTokenSource;
}

/** Project ids and numbers, plus legacy domain-scoped ids (`example.com:my-project`). */
const PROJECT = /^[a-z0-9][a-z0-9.:-]{0,127}$/;
const LOCATION = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * MLflow's `VertexAIConfig`: `vertex_project` (required), `vertex_location` (default `global`, MLflow's
 * default), `vertex_credentials` (a service-account key; without it, Application Default Credentials),
 * plus our `vertex_api_base`, which replaces the `aiplatform.googleapis.com` origin (private endpoints, tests).
 */
export function parseVertexAIConfig(
  raw: JsonObject,
  provider: string,
  modelName: string | undefined,
): VertexAIConfig {
  const project = raw.vertex_project;
  if (typeof project !== 'string' || project.trim() === '') {
    throw new ProviderConfigError(`vertex_project is required for provider '${provider}'`);
  }
  if (!PROJECT.test(project.trim())) {
    throw new ProviderConfigError(
      `vertex_project '${project}' is not a Google Cloud project id for provider '${provider}'`,
    );
  }
  const location = optionalString(raw, 'vertex_location', provider) ?? 'global';
  if (!LOCATION.test(location)) {
    throw new ProviderConfigError(
      `vertex_location '${location}' is not a Google Cloud location for provider '${provider}'`,
    );
  }
  const base = optionalString(raw, 'vertex_api_base', provider);
  const origin =
    base !== undefined
      ? normaliseGoogleBase(base, 'vertex_api_base', provider, /\/v1$/)
      : location === 'global'
        ? 'https://aiplatform.googleapis.com'
        : `https://${location}-aiplatform.googleapis.com`;
  const credentials = raw.vertex_credentials;
  const key =
    credentials === undefined || credentials === null || credentials === ''
      ? undefined
      : parseServiceAccountKey(credentials, provider);
  return {
    project: project.trim(),
    location,
    origin,
    model: googleModelId(modelName, provider, 'publishers/google/models/'),
    tokens: tokenSourceFor(key),
  };
}
