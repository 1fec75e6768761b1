import { InvalidationFilter, invalidationPattern } from 'src/modules/cache/cache-key';
import { CacheStore } from 'src/modules/cache/cache.store';
import { RedisClient } from 'src/infra/redis/redis.client';

export class RedisUnavailableError extends Error {
  constructor() {
    super('redis is not connected');
  }
}

/** Shared store for all replicas; entries expire through Redis TTLs (PX). */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis' as const;

  constructor(private readonly redis: RedisClient) {}

  async get(key: string): Promise<Buffer | undefined> {
    const client = this.redis.ready;
    if (!client) throw new RedisUnavailableError();
    return (await client.getBuffer(this.redis.prefix + key)) ?? undefined;
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    const client = this.redis.ready;
    if (!client) throw new RedisUnavailableError();
    await client.set(this.redis.prefix + key, value, 'PX', ttlMs);
  }

  /** SCAN + UNLINK in batches: never KEYS, never FLUSHDB (other tenants of this Redis keep their data). */
  async invalidate(filter: InvalidationFilter): Promise<number> {
    const client = this.redis.ready;
    if (!client) throw new RedisUnavailableError();
    const match = escapeGlob(this.redis.prefix) + invalidationPattern(filter);
    let cursor = '0';
    let removed = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) removed += await client.unlink(...keys);
    } while (cursor !== '0');
    return removed;
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (ch) => `\\${ch}`);
}
