import { createHash } from 'node:crypto';
import { Principal } from 'src/common/auth/principal';
import { CacheScope } from 'src/modules/cache/cache-policy';
import { CanonicalRequest, Operation } from 'src/modules/providers/provider-adapter';

/**
 * Request fields that never change the answer and so stay out of the key: how it is delivered
 * (`stream`, `stream_options`: streams and JSON share one entry), the end-user tag for the provider's
 * abuse monitoring (`user`) and stored-completion bookkeeping (`metadata`, `store`). `model` is replaced
 * by the endpoint's identity (name, provider, configured model), so an endpoint that is repointed at a
 * new model never serves the old model's answers.
 */
export const KEY_EXCLUDED_FIELDS: ReadonlySet<string> = new Set([
  'stream',
  'stream_options',
  'user',
  'metadata',
  'store',
  'model',
]);

export const KEY_VERSION = 'v1';

export interface CacheKeyInput {
  scope: CacheScope;
  principal: Principal | undefined;
  endpoint: { name: string; provider: string; modelName: string | undefined };
  op: Operation;
  request: CanonicalRequest;
}

export interface CacheKey {
  /** Logical key (no Redis prefix): `cache:v1:<endpoint>:<owner>:<sha256>`. */
  key: string;
  endpoint: string;
  /** The sharing unit: `g` (global), `t.<team>` (team) or `t.<team>.k.<api key>` (key). */
  owner: string;
}

/** Ids may hold anything; keep only characters that are neither separators nor glob syntax. */
export function encodeSegment(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return value.replace(/[^A-Za-z0-9_-]/g, (ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function ownerOf(scope: CacheScope, principal: Principal | undefined): string {
  if (scope === 'global') return 'g';
  // No principal (before authentication is enforced) is one anonymous team with no key.
  const team = `t.${encodeSegment(principal?.teamId)}`;
  if (scope === 'team') return team;
  return `${team}.k.${encodeSegment(principal?.apiKeyId ?? principal?.id)}`;
}

/** JSON with object keys sorted at every depth, so field order never splits entries. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    if (record[key] === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  }
  return `{${parts.join(',')}}`;
}

export function buildCacheKey(input: CacheKeyInput): CacheKey {
  const fields: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(input.request)) {
    if (!KEY_EXCLUDED_FIELDS.has(field)) fields[field] = value;
  }
  const material = canonicalJson({
    op: input.op,
    endpoint: input.endpoint.name,
    provider: input.endpoint.provider,
    model: input.endpoint.modelName ?? null,
    request: fields,
  });
  const digest = createHash('sha256').update(material).digest('hex');
  const owner = ownerOf(input.scope, input.principal);
  return {
    key: `cache:${KEY_VERSION}:${input.endpoint.name}:${owner}:${digest}`,
    endpoint: input.endpoint.name,
    owner,
  };
}

export interface PredictionKeyInput {
  scope: CacheScope;
  principal: Principal | undefined;
  /** The `ml/v1/predict` endpoint's name. */
  endpoint: string;
  registeredModel: string;
  /** The registry version the request is served by: an alias move starts new entries. */
  version: string;
  /** The scoring body: parsed JSON (keyed canonically), or a CSV body's raw text. */
  body: { json: unknown } | { csv: string };
}

/** Key of a model prediction; same layout as LLM keys, so invalidation by endpoint or team covers it. */
export function buildPredictionKey(input: PredictionKeyInput): CacheKey {
  const material = canonicalJson({
    op: 'predict',
    endpoint: input.endpoint,
    model: input.registeredModel,
    version: input.version,
    ...('csv' in input.body ? { csv: input.body.csv } : { json: input.body.json }),
  });
  const digest = createHash('sha256').update(material).digest('hex');
  const owner = ownerOf(input.scope, input.principal);
  return {
    key: `cache:${KEY_VERSION}:${input.endpoint}:${owner}:${digest}`,
    endpoint: input.endpoint,
    owner,
  };
}

/** What an invalidation removes; an empty filter removes everything. */
export interface InvalidationFilter {
  endpoint?: string;
  /** A team id, or null for the anonymous team. Global-scope entries belong to no team. */
  teamId?: string | null;
}

/** Redis MATCH pattern for a filter (endpoint names and encoded ids contain no glob characters). */
export function invalidationPattern(filter: InvalidationFilter): string {
  const endpoint = filter.endpoint ?? '*';
  if (filter.teamId === undefined) return `cache:${KEY_VERSION}:${endpoint}:*`;
  return `cache:${KEY_VERSION}:${endpoint}:t.${encodeSegment(filter.teamId)}[:.]*`;
}

/** The same filter as a predicate over logical keys (in-process store). */
export function matchesFilter(key: string, filter: InvalidationFilter): boolean {
  const parts = key.split(':');
  if (parts.length !== 5 || parts[0] !== 'cache' || parts[1] !== KEY_VERSION) return false;
  if (filter.endpoint !== undefined && parts[2] !== filter.endpoint) return false;
  if (filter.teamId === undefined) return true;
  const team = `t.${encodeSegment(filter.teamId)}`;
  return parts[3] === team || parts[3].startsWith(`${team}.`);
}
