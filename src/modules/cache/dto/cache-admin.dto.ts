import { EndpointPolicyView } from 'src/modules/cache/cache-policy.service';
import { CacheCounters } from 'src/modules/cache/cache-stats.service';

/** The admin API speaks the YAML's snake_case: what an operator writes in gateway.yaml reads the same here. */
export interface CachePolicyDto {
  endpoint: string;
  /** What decides the policy: `override` (admin API), `yaml`, or `default` (caching off). */
  source: 'override' | 'yaml' | 'default';
  policy: { enabled: boolean; ttl_seconds: number; scope: string; requests: string };
}

export interface CacheInvalidationDto {
  deleted: number;
}

export interface CacheStatsDto {
  store: 'redis' | 'memory';
  hits: number;
  shared_hits: number;
  misses: number;
  bypasses: number;
  writes: number;
  skipped_writes: number;
  store_errors: number;
  bytes_written: number;
  bytes_read: number;
  tokens_saved: number;
  /** Entries and bytes held by the in-process store (absent for Redis, which is shared). */
  held?: { entries: number; bytes: number };
}

export function toPolicyDto(view: EndpointPolicyView): CachePolicyDto {
  const { enabled, ttlSeconds, scope, requests } = view.policy;
  return {
    endpoint: view.endpoint,
    source: view.source,
    policy: { enabled, ttl_seconds: ttlSeconds, scope, requests },
  };
}

export function toStatsDto(
  store: CacheStatsDto['store'],
  counters: CacheCounters,
  held: CacheStatsDto['held'],
): CacheStatsDto {
  return {
    store,
    hits: counters.hits,
    shared_hits: counters.sharedHits,
    misses: counters.misses,
    bypasses: counters.bypasses,
    writes: counters.writes,
    skipped_writes: counters.skippedWrites,
    store_errors: counters.storeErrors,
    bytes_written: counters.bytesWritten,
    bytes_read: counters.bytesRead,
    tokens_saved: counters.tokensSaved,
    ...(held ? { held } : {}),
  };
}
