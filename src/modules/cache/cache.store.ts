import { InvalidationFilter } from 'src/modules/cache/cache-key';

/**
 * Where encoded entries live. Implementations may throw on any failure (Redis down, timeout); the
 * cache service turns every failure into a miss.
 */
export interface CacheStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<Buffer | undefined>;
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
  /** Removes matching entries; returns how many. */
  invalidate(filter: InvalidationFilter): Promise<number>;
  /** What the store holds, when it can tell cheaply (the in-process store). */
  usage?(): { entries: number; bytes: number };
}

export const CACHE_STORE = Symbol('CACHE_STORE');
