import { Injectable } from '@nestjs/common';

export interface CacheCounters {
  /** Requests answered from the cache (store hits + single-flight shares). */
  hits: number;
  /** Of `hits`, those that waited for an identical in-flight request. */
  sharedHits: number;
  misses: number;
  /** Cacheable endpoint, but the request was not looked up (not deterministic, Cache-Control). */
  bypasses: number;
  /** Entries written. */
  writes: number;
  /** Answers not stored (failed or cut streams, too large). */
  skippedWrites: number;
  /** Store failures (Redis down or slow); each degraded to a miss or a skipped write. */
  storeErrors: number;
  /** Encoded bytes written to / read from the store. */
  bytesWritten: number;
  bytesRead: number;
  /** Prompt + completion tokens of the answers served from the cache. */
  tokensSaved: number;
}

/** Process-local counters of the response cache, for the metrics endpoint and the admin API. */
@Injectable()
export class CacheStatsService {
  private readonly counters: CacheCounters = {
    hits: 0,
    sharedHits: 0,
    misses: 0,
    bypasses: 0,
    writes: 0,
    skippedWrites: 0,
    storeErrors: 0,
    bytesWritten: 0,
    bytesRead: 0,
    tokensSaved: 0,
  };

  add(counter: keyof CacheCounters, amount = 1): void {
    this.counters[counter] += amount;
  }

  snapshot(): CacheCounters {
    return { ...this.counters };
  }
}
