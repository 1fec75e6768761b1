import { FastifyReply } from 'fastify';
import { CacheEntry } from 'src/modules/cache/cache-entry.codec';
import { chunksFromResponse, responseFromChunks } from 'src/modules/cache/cache-replay';
import { CanonicalChunk, CanonicalResponse } from 'src/modules/providers/provider-adapter';

export type CacheStatus = 'hit' | 'miss' | 'bypass';

/** How a miss hands the upstream's answer back to the cache (implemented by CacheService). */
export interface CacheFiller {
  fillResponse(response: CanonicalResponse): void;
  fillStream(chunkJson: string[]): void;
  /** The answer will not be stored (error, cut stream, client gone): release waiting requests. */
  abandon(): void;
}

/**
 * The cache's verdict for one request, used by the inference hot path:
 *   lookup.attach(reply);
 *   const chunks = lookup.hit ? lookup.replayChunks() : lookup.capture(await upstreamStream());
 *   const response = lookup.hit ? lookup.replayResponse() : lookup.fill(await upstreamCall());
 */
export class CacheLookup {
  private settled = false;

  private constructor(
    /** undefined when the endpoint does not cache (no header is sent). */
    readonly status: CacheStatus | undefined,
    private readonly entry: CacheEntry | undefined,
    private readonly ageSeconds: number,
    private readonly filler: CacheFiller | undefined,
    private readonly maxEntryBytes: number,
  ) {}

  static off(): CacheLookup {
    return new CacheLookup(undefined, undefined, 0, undefined, 0);
  }

  static bypass(filler?: CacheFiller, maxEntryBytes = 0): CacheLookup {
    return new CacheLookup('bypass', undefined, 0, filler, maxEntryBytes);
  }

  static miss(filler: CacheFiller | undefined, maxEntryBytes: number): CacheLookup {
    return new CacheLookup('miss', undefined, 0, filler, maxEntryBytes);
  }

  static hit(entry: CacheEntry, ageSeconds: number): CacheLookup {
    return new CacheLookup('hit', entry, ageSeconds, undefined, 0);
  }

  get hit(): boolean {
    return this.status === 'hit';
  }

  /**
   * Sets `x-gatehouse-cache` (and `age` on a hit), and releases waiting identical requests when the
   * response is over without an answer to store (upstream error, client gone).
   */
  attach(reply: FastifyReply): void {
    if (this.filler) reply.raw.once('close', () => this.release());
    if (this.status === undefined) return;
    void reply.header('x-gatehouse-cache', this.status);
    if (this.hit) void reply.header('age', String(this.ageSeconds));
  }

  replayResponse(): CanonicalResponse {
    const entry = this.requireEntry();
    if (entry.kind === 'response' && entry.response) return entry.response;
    const assembled = responseFromChunks(entry.op, entry.chunks ?? []);
    if (!assembled) throw new Error('cache entry holds no answer');
    return assembled;
  }

  async *replayChunks(): AsyncGenerator<CanonicalChunk> {
    const entry = this.requireEntry();
    const chunks =
      entry.kind === 'stream' ? (entry.chunks ?? []) : chunksFromResponse(entry.op, entry.response!);
    yield* chunks;
  }

  /** Passes the upstream answer through and hands it to the cache. */
  fill<T extends CanonicalResponse>(response: T): T {
    if (this.filler && !this.settled) {
      this.settled = true;
      this.filler.fillResponse(response);
    }
    return response;
  }

  /** Passes stream chunks through; a stream that completed cleanly is handed to the cache. */
  capture(source: AsyncGenerator<CanonicalChunk>): AsyncGenerator<CanonicalChunk> {
    if (!this.filler || this.settled) return source;
    return this.captureChunks(source);
  }

  /** Ends this request's part: releases waiting identical requests if nothing was filled (idempotent). */
  release(): void {
    if (this.settled) return;
    this.settled = true;
    this.filler?.abandon();
  }

  private async *captureChunks(source: AsyncGenerator<CanonicalChunk>): AsyncGenerator<CanonicalChunk> {
    // Serialised before the SSE writer sees them: it strips usage fields in place.
    let captured: string[] | undefined = [];
    let bytes = 0;
    let complete = false;
    try {
      for await (const chunk of source) {
        if (captured) {
          const json = JSON.stringify(chunk);
          bytes += json.length;
          if (bytes > this.maxEntryBytes) captured = undefined;
          else captured.push(json);
        }
        yield chunk;
      }
      complete = true;
    } finally {
      if (complete && captured && captured.length > 0 && !this.settled) {
        this.settled = true;
        this.filler!.fillStream(captured);
      } else {
        this.release();
      }
    }
  }

  private requireEntry(): CacheEntry {
    if (!this.entry) throw new Error('not a cache hit');
    return this.entry;
  }
}
