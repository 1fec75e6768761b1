import { LRUCache } from 'lru-cache';
import { InvalidationFilter, matchesFilter } from 'src/modules/cache/cache-key';
import { CacheStore } from 'src/modules/cache/cache.store';

/** In-process store for a single replica: least-recently-used eviction within a byte budget. */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory' as const;
  private readonly lru: LRUCache<string, Buffer>;

  constructor(maxBytes: number, maxEntryBytes: number) {
    this.lru = new LRUCache<string, Buffer>({
      maxSize: maxBytes,
      maxEntrySize: Math.min(maxEntryBytes, maxBytes),
      // Key and bookkeeping overhead counted too, so many tiny entries cannot exceed the budget unseen.
      sizeCalculation: (value, key) => value.length + key.length + 64,
      ttlAutopurge: false,
    });
  }

  async get(key: string): Promise<Buffer | undefined> {
    return this.lru.get(key);
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    this.lru.set(key, value, { ttl: ttlMs });
  }

  async invalidate(filter: InvalidationFilter): Promise<number> {
    let removed = 0;
    for (const key of [...this.lru.keys()]) {
      if (matchesFilter(key, filter) && this.lru.delete(key)) removed++;
    }
    return removed;
  }

  usage(): { entries: number; bytes: number } {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize };
  }
}
