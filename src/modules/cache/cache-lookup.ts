import { CacheEntry } from 'src/modules/cache/cache-entry.codec';
import { chunksFromResponse, responseFromChunks } from 'src/modules/cache/cache-replay';
import { CanonicalChunk, CanonicalResponse } from 'src/modules/providers/provider-adapter';

export type CacheStatus = 'hit' | 'miss' | 'bypass';

/** How a miss hands the upstream's answer back to the cache (implemented by CacheService). */
export interface CacheFiller {
  fillResponse(response: CanonicalResponse): void;
  fillStream(chunkJson: string[]): void;
  /** A model prediction: the scoring server's JSON text. */
  fillPrediction(json: string): void;
  /** The answer will not be stored (error, cut stream, client gone): release waiting requests. */
  abandon(): void;
}

/**
 * The cache's verdict for one request, used by the inference hot path:
 *   lookup.attach(reply);
 *   const chunks = lookup.hit ? lookup.replayChunks() : lookup.capture(await upstreamStream());
 *   const response = lookup.hit ? lookup.replayResponse() : lookup.fill(await upstreamCall());
 * and `release(cacheable)` in a finally block: the held answer is stored only then.
 */
export class CacheLookup {
  private settled = false;
  /**
   * The complete answer, held until `release` decides whether it may be stored (a guardrail may still
   * flag it). Serialised at once: later stages (placeholder restoration, the SSE writer) edit it in place.
   */
  private pending:
    | { kind: 'response'; json: string }
    | { kind: 'prediction'; json: string }
    | { kind: 'stream'; chunkJson: string[] }
    | undefined;

  private constructor(
    /** undefined when the endpoint does not cache (no header is sent). */
    readonly status: CacheStatus | undefined,
    private readonly entry: CacheEntry | undefined,
    private readonly ageSeconds: number,
    private filler: CacheFiller | undefined,
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

  /** Whether this request's answer is to be stored (a miss, or a `no-cache` refresh) and not yet settled. */
  get storing(): boolean {
    return this.filler !== undefined && !this.settled;
  }

  /**
   * The answer came from another endpoint than the one looked up (a fallback answered): the entry this
   * request was to fill is released without an answer (so a later request to the primary goes to the
   * primary again, and requests waiting on it go upstream themselves), and the answer is stored with
   * `filler` (the answering endpoint's own key, policy and TTL) instead, or not at all.
   */
  redirect(filler: CacheFiller | undefined): void {
    if (!this.filler || this.settled) return;
    this.filler.abandon();
    this.filler = filler;
  }

  /** `x-gatehouse-cache` (and `age` on a hit); none when the endpoint does not cache. */
  headers(set: (name: string, value: string) => void): void {
    if (this.status === undefined) return;
    set('x-gatehouse-cache', this.status);
    if (this.hit) set('age', String(this.ageSeconds));
  }

  replayResponse(): CanonicalResponse {
    const entry = this.requireEntry();
    if (entry.kind === 'response' && entry.response) return entry.response;
    if (entry.op === 'predict') throw new Error('cache entry holds a prediction');
    const assembled = responseFromChunks(entry.op, entry.chunks ?? []);
    if (!assembled) throw new Error('cache entry holds no answer');
    return assembled;
  }

  async *replayChunks(): AsyncGenerator<CanonicalChunk> {
    const entry = this.requireEntry();
    if (entry.op === 'predict') throw new Error('cache entry holds a prediction');
    const chunks =
      entry.kind === 'stream' ? (entry.chunks ?? []) : chunksFromResponse(entry.op, entry.response!);
    yield* chunks;
  }

  /** Passes the upstream answer through and keeps a copy for the cache (stored by `release`). */
  fill<T extends CanonicalResponse>(response: T): T {
    if (this.filler && !this.settled) {
      const json = JSON.stringify(response);
      if (json.length <= this.maxEntryBytes) this.pending = { kind: 'response', json };
    }
    return response;
  }

  /** The cached scoring server's answer (JSON text) of an `ml/v1/predict` endpoint. */
  replayPrediction(): string {
    const entry = this.requireEntry();
    if (entry.kind !== 'prediction' || entry.body === undefined)
      throw new Error('cache entry holds no prediction');
    return entry.body;
  }

  /** Passes a successful scoring answer through and keeps a copy for the cache (stored by `release`). */
  fillPrediction(json: string): string {
    if (this.filler && !this.settled && json.length <= this.maxEntryBytes) {
      this.pending = { kind: 'prediction', json };
    }
    return json;
  }

  /** Passes stream chunks through; a stream that completed cleanly is handed to the cache. */
  capture(source: AsyncGenerator<CanonicalChunk>): AsyncGenerator<CanonicalChunk> {
    if (!this.filler || this.settled) return source;
    return this.captureChunks(source);
  }

  /**
   * Call once the request is over: stores the held answer when `cacheable` (no guardrail flagged it),
   * else releases waiting identical requests without one.
   */
  release(cacheable = true): void {
    if (this.settled) return;
    this.settled = true;
    const pending = this.pending;
    this.pending = undefined;
    if (!this.filler) return;
    if (!cacheable || !pending) this.filler.abandon();
    else if (pending.kind === 'response')
      this.filler.fillResponse(JSON.parse(pending.json) as CanonicalResponse);
    else if (pending.kind === 'prediction') this.filler.fillPrediction(pending.json);
    else this.filler.fillStream(pending.chunkJson);
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
        this.pending = { kind: 'stream', chunkJson: captured };
      } else {
        this.release(false);
      }
    }
  }

  private requireEntry(): CacheEntry {
    if (!this.entry) throw new Error('not a cache hit');
    return this.entry;
  }
}
