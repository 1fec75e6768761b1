import { CanonicalRequest, Operation } from 'src/modules/providers/provider-adapter';

/** Who shares an entry: the caller's team (default), everyone, or only the same API key. */
export type CacheScope = 'team' | 'global' | 'key';
/**
 * Which requests are cached: `deterministic` = embeddings and LLM calls with `temperature: 0` (plus
 * requests that opt in with the `x-gatehouse-cache-opt-in: true` header); `all` = every request.
 */
export type CacheRequests = 'deterministic' | 'all';

export interface CachePolicy {
  enabled: boolean;
  ttlSeconds: number;
  scope: CacheScope;
  requests: CacheRequests;
}

/**
 * `gatehouse.cache.semantic`: answer a chat request from a cached answer to a request whose normalised
 * messages embed within `threshold` cosine similarity (other parameters equal, same team). Off unless set.
 */
export interface SemanticCacheSettings {
  /** The `llm/v1/embeddings` endpoint (or route) the messages are embedded with. */
  embeddingEndpoint: string;
  /** Cosine similarity from which a cached answer is reused (0–1; default 0.95). */
  threshold: number;
}

/** A policy as written (YAML `gatehouse.cache` or an admin override): any field may be left out. */
export interface CachePolicyInput {
  enabled?: boolean;
  ttlSeconds?: number;
  scope?: CacheScope;
  requests?: CacheRequests;
  semantic?: SemanticCacheSettings;
}

export const CACHE_SCOPES: readonly CacheScope[] = ['team', 'global', 'key'];
export const CACHE_REQUESTS: readonly CacheRequests[] = ['deterministic', 'all'];
export const MAX_TTL_SECONDS = 30 * 86_400;

const YAML_KEYS = new Set(['enabled', 'ttl_seconds', 'scope', 'requests', 'semantic']);
const SEMANTIC_KEYS = new Set(['embedding_endpoint', 'threshold']);
export const DEFAULT_SEMANTIC_THRESHOLD = 0.95;

/**
 * Reads a `gatehouse.cache` mapping (endpoint or top level). Problems are pushed, prefixed with `where`;
 * returns undefined when the block is absent or invalid.
 */
export function parseCachePolicyYaml(
  raw: unknown,
  where: string,
  problems: string[],
): CachePolicyInput | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${where}: gatehouse.cache must be a mapping.`);
    return undefined;
  }
  const map = raw as Record<string, unknown>;
  const before = problems.length;
  for (const key of Object.keys(map)) {
    if (!YAML_KEYS.has(key)) {
      problems.push(
        `${where}: gatehouse.cache.${key} is not a cache setting (known: ${[...YAML_KEYS].join(', ')}).`,
      );
    }
  }
  const policy: CachePolicyInput = {};
  if (map.enabled !== undefined) {
    if (typeof map.enabled === 'boolean') policy.enabled = map.enabled;
    else problems.push(`${where}: gatehouse.cache.enabled must be true or false.`);
  }
  if (map.ttl_seconds !== undefined) {
    const ttl = map.ttl_seconds;
    if (typeof ttl === 'number' && Number.isInteger(ttl) && ttl >= 1 && ttl <= MAX_TTL_SECONDS) {
      policy.ttlSeconds = ttl;
    } else {
      problems.push(`${where}: gatehouse.cache.ttl_seconds must be an integer from 1 to ${MAX_TTL_SECONDS}.`);
    }
  }
  if (map.scope !== undefined) {
    if (CACHE_SCOPES.includes(map.scope as CacheScope)) policy.scope = map.scope as CacheScope;
    else problems.push(`${where}: gatehouse.cache.scope must be one of ${CACHE_SCOPES.join(', ')}.`);
  }
  if (map.requests !== undefined) {
    if (CACHE_REQUESTS.includes(map.requests as CacheRequests)) {
      policy.requests = map.requests as CacheRequests;
    } else {
      problems.push(`${where}: gatehouse.cache.requests must be one of ${CACHE_REQUESTS.join(', ')}.`);
    }
  }
  if (map.semantic !== undefined) {
    const semantic = parseSemantic(map.semantic, where, problems);
    if (semantic) policy.semantic = semantic;
  }
  return problems.length === before ? policy : undefined;
}

function parseSemantic(raw: unknown, where: string, problems: string[]): SemanticCacheSettings | undefined {
  const at = `${where}: gatehouse.cache.semantic`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${at} must be a mapping with embedding_endpoint (and threshold).`);
    return undefined;
  }
  const map = raw as Record<string, unknown>;
  const unknown = Object.keys(map).filter((key) => !SEMANTIC_KEYS.has(key));
  if (unknown.length > 0) problems.push(`${at} has unknown key(s): ${unknown.join(', ')}.`);
  const endpoint = map.embedding_endpoint;
  if (typeof endpoint !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(endpoint)) {
    problems.push(`${at}.embedding_endpoint must be the name of an embeddings endpoint.`);
  }
  const threshold = map.threshold ?? DEFAULT_SEMANTIC_THRESHOLD;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) {
    problems.push(`${at}.threshold must be a number above 0 and at most 1.`);
  }
  if (unknown.length > 0 || typeof endpoint !== 'string' || typeof threshold !== 'number') return undefined;
  return { embeddingEndpoint: endpoint, threshold };
}

/** Layers policies: later layers win field by field; a block that is present but says nothing enables caching. */
export function resolvePolicy(
  defaultTtlSeconds: number,
  ...layers: (CachePolicyInput | undefined)[]
): CachePolicy {
  const present = layers.filter((layer): layer is CachePolicyInput => layer !== undefined);
  const merged = Object.assign({}, ...present) as CachePolicyInput;
  return {
    enabled: merged.enabled ?? present.length > 0,
    ttlSeconds: merged.ttlSeconds ?? defaultTtlSeconds,
    scope: merged.scope ?? 'team',
    requests: merged.requests ?? 'deterministic',
  };
}

/**
 * Whether this request's answer may be reused. Embeddings (and any other non-generative operation, such
 * as model predictions) are deterministic; chat and completions only with `temperature: 0` (absent means
 * the provider default, 1), unless the policy or the caller opts in.
 */
export function isCacheableRequest(
  policy: CachePolicy,
  op: Operation,
  request: CanonicalRequest,
  optIn: boolean,
): boolean {
  if (!policy.enabled) return false;
  if (policy.requests === 'all' || optIn) return true;
  if (op !== 'chat' && op !== 'completions') return true;
  return request.temperature === 0;
}
