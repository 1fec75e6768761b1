import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { IncomingHttpHeaders } from 'node:http';
import { Principal } from 'src/common/auth/principal';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import {
  buildCacheKey,
  buildPredictionKey,
  CacheKey,
  InvalidationFilter,
  PredictionKeyInput,
} from 'src/modules/cache/cache-key';
import {
  CacheEntry,
  decodeEntry,
  encodeEntry,
  entryJson,
  usageOf,
} from 'src/modules/cache/cache-entry.codec';
import { CacheFiller, CacheLookup } from 'src/modules/cache/cache-lookup';
import { CachePolicy, CachePolicyInput, isCacheableRequest } from 'src/modules/cache/cache-policy';
import { CachePolicyService } from 'src/modules/cache/cache-policy.service';
import { CacheStatsService } from 'src/modules/cache/cache-stats.service';
import { CACHE_STORE, CacheStore } from 'src/modules/cache/cache.store';
import { CACHE_HIT_EVENT, CacheHitEvent } from 'src/modules/cache/cache.events';
import { CanonicalRequest, CanonicalResponse, Operation } from 'src/modules/providers/provider-adapter';
import { EndpointEntry } from 'src/modules/routing/route-table';

/** Who asks, as the cache needs it: the tenant scope, the caller's cache directives, the request id. */
export interface CacheCaller {
  readonly requestId: string;
  readonly principal: Principal | undefined;
  readonly headers: IncomingHttpHeaders;
}

export interface CacheRequest {
  op: Operation;
  request: CanonicalRequest;
  /** The endpoint that will answer (a traffic route is resolved first, so each destination has its own entries). */
  endpoint: EndpointEntry;
  caller: CacheCaller;
}

export interface PredictionCacheRequest {
  /** The `ml/v1/predict` endpoint (its name and YAML cache policy). */
  endpoint: { name: string; cache: CachePolicyInput | undefined };
  registeredModel: string;
  /** The version the endpoint resolves to for this request. */
  version: string;
  body: PredictionKeyInput['body'];
  caller: CacheCaller;
}

/** The caller's per-request wishes, from `Cache-Control` and `x-gatehouse-cache-opt-in`. */
export interface RequestDirectives {
  /** `no-store`: neither read nor write. */
  noStore: boolean;
  /** `no-cache`: do not read, but refresh the entry with the new answer. */
  noCache: boolean;
  /** Cache this request even though it is not deterministic (temperature > 0). */
  optIn: boolean;
}

/** A request for this key is on its way upstream; identical ones wait for its answer. */
interface Flight {
  /** Resolves to the entry's JSON (each waiter parses its own copy), or undefined if nothing was cached. */
  result: Promise<string | undefined>;
  resolve(json: string | undefined): void;
}

const MAX_ROUNDS = 4;
const TIMED_OUT = Symbol('timed out');

export function readDirectives(headers: IncomingHttpHeaders): RequestDirectives {
  const cacheControl = String(headers['cache-control'] ?? '').toLowerCase();
  const tokens = new Set(cacheControl.split(',').map((token) => token.trim().split('=')[0]));
  const optIn = String(headers['x-gatehouse-cache-opt-in'] ?? '').toLowerCase();
  return {
    noStore: tokens.has('no-store'),
    noCache: tokens.has('no-cache'),
    optIn: optIn === 'true' || optIn === '1',
  };
}

/**
 * Exact-match response cache. Looks entries up by tenant scope + endpoint + canonical request, fills
 * them from completed upstream answers, and collapses identical concurrent requests into one upstream
 * call per replica (single-flight). Every store failure degrades to a miss: the cache never fails a request.
 */
@Injectable()
export class CacheService {
  private readonly logger = new Logger('Cache');
  private readonly flights = new Map<string, Flight>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CACHE_STORE) private readonly store: CacheStore,
    private readonly policies: CachePolicyService,
    private readonly stats: CacheStatsService,
    private readonly events: EventEmitter2,
  ) {}

  get storeKind(): CacheStore['kind'] {
    return this.store.kind;
  }

  storeUsage(): { entries: number; bytes: number } | undefined {
    return this.store.usage?.();
  }

  async lookup(input: CacheRequest): Promise<CacheLookup> {
    const policy = this.policies.effective(input.endpoint);
    if (!policy.enabled) return CacheLookup.off();
    const directives = readDirectives(input.caller.headers);
    if (directives.noStore || !isCacheableRequest(policy, input.op, input.request, directives.optIn)) {
      this.stats.add('bypasses');
      return CacheLookup.bypass();
    }
    const key = buildCacheKey({
      scope: policy.scope,
      principal: input.caller.principal,
      endpoint: input.endpoint,
      op: input.op,
      request: input.request,
    });
    const wantsStream = input.request.stream === true && input.op !== 'embeddings';
    return this.find(
      key,
      policy,
      input.op,
      directives.noCache,
      (entry) => servable(entry, wantsStream, input.request),
      (entry, shared) => this.hit(input, entry, wantsStream, shared),
    );
  }

  /**
   * The same for an `ml/v1/predict` endpoint: every prediction is deterministic, so any enabled policy
   * caches it. The key holds the resolved registry version, so an alias move never serves the old
   * version's answer.
   */
  async lookupPrediction(input: PredictionCacheRequest): Promise<CacheLookup> {
    const policy = this.policies.effective(input.endpoint);
    if (!policy.enabled) return CacheLookup.off();
    const directives = readDirectives(input.caller.headers);
    if (directives.noStore) {
      this.stats.add('bypasses');
      return CacheLookup.bypass();
    }
    const key = buildPredictionKey({
      scope: policy.scope,
      principal: input.caller.principal,
      endpoint: input.endpoint.name,
      registeredModel: input.registeredModel,
      version: input.version,
      body: input.body,
    });
    return this.find(
      key,
      policy,
      'predict',
      directives.noCache,
      (entry) => entry.kind === 'prediction' && typeof entry.body === 'string',
      (entry, shared) => CacheLookup.hit(entry, this.countHit(entry, shared)),
    );
  }

  /**
   * A filler for `input.endpoint`'s own entry of this request (no single-flight), or undefined when that
   * endpoint would not cache it: where a fallback's answer is stored (see CacheLookup.redirect).
   */
  fillerFor(input: CacheRequest): CacheFiller | undefined {
    const policy = this.policies.effective(input.endpoint);
    if (!policy.enabled) return undefined;
    const directives = readDirectives(input.caller.headers);
    if (directives.noStore || !isCacheableRequest(policy, input.op, input.request, directives.optIn)) {
      return undefined;
    }
    const key = buildCacheKey({
      scope: policy.scope,
      principal: input.caller.principal,
      endpoint: input.endpoint,
      op: input.op,
      request: input.request,
    });
    return this.filler(key, policy, input.op, undefined);
  }

  /** The same for a predict endpoint and the version that answered. */
  predictionFillerFor(input: PredictionCacheRequest): CacheFiller | undefined {
    const policy = this.policies.effective(input.endpoint);
    if (!policy.enabled || readDirectives(input.caller.headers).noStore) return undefined;
    const key = buildPredictionKey({
      scope: policy.scope,
      principal: input.caller.principal,
      endpoint: input.endpoint.name,
      registeredModel: input.registeredModel,
      version: input.version,
      body: input.body,
    });
    return this.filler(key, policy, 'predict', undefined);
  }

  /** Store read with single-flight: a hit, or a miss whose answer this request will provide. */
  private async find(
    key: CacheKey,
    policy: CachePolicy,
    op: CacheEntry['op'],
    noCache: boolean,
    servable: (entry: CacheEntry) => boolean,
    hit: (entry: CacheEntry, shared: boolean) => CacheLookup,
  ): Promise<CacheLookup> {
    if (noCache) {
      this.stats.add('bypasses');
      return CacheLookup.bypass(this.filler(key, policy, op, undefined), this.config.CACHE_MAX_ENTRY_BYTES);
    }
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const flight = this.flights.get(key.key);
      if (flight) {
        const json = await this.wait(flight);
        if (json === TIMED_OUT) break;
        const entry = json === undefined ? undefined : this.parse(json);
        if (entry && servable(entry)) return hit(entry, true);
        continue;
      }
      const entry = await this.read(key.key);
      if (entry && servable(entry)) return hit(entry, false);
      // Another identical request may have started while this one read the store.
      if (this.flights.has(key.key)) continue;
      this.stats.add('misses');
      return CacheLookup.miss(this.lead(key, policy, op), this.config.CACHE_MAX_ENTRY_BYTES);
    }
    // Waited long enough: go upstream alongside the in-flight request and store the answer too.
    this.stats.add('misses');
    return CacheLookup.miss(this.filler(key, policy, op, undefined), this.config.CACHE_MAX_ENTRY_BYTES);
  }

  invalidate(filter: InvalidationFilter): Promise<number> {
    return this.store.invalidate(filter);
  }

  /** Counts a hit; returns the entry's age in seconds (0 for an answer shared in flight). */
  private countHit(entry: CacheEntry, shared: boolean): number {
    this.stats.add('hits');
    if (shared) this.stats.add('sharedHits');
    return shared ? 0 : Math.max(0, Math.floor((Date.now() - entry.createdAt) / 1000));
  }

  private hit(input: CacheRequest, entry: CacheEntry, stream: boolean, shared: boolean): CacheLookup {
    const ageSeconds = this.countHit(entry, shared);
    const usage = usageOf(entry) ?? null;
    this.stats.add('tokensSaved', (usage?.total_tokens as number | null) ?? 0);
    const principal = input.caller.principal;
    this.emit(
      new CacheHitEvent(
        input.caller.requestId,
        input.endpoint.name,
        input.endpoint.provider,
        input.endpoint.modelName,
        input.op,
        principal?.teamId ?? null,
        principal?.id ?? null,
        principal?.apiKeyId ?? null,
        usage,
        ageSeconds,
        stream,
        shared,
      ),
    );
    return CacheLookup.hit(entry, ageSeconds);
  }

  /** A failing listener (billing, metrics) must not fail a request that is already answered. */
  private emit(event: CacheHitEvent): void {
    try {
      this.events.emit(CACHE_HIT_EVENT, event);
    } catch (error) {
      this.logger.warn(
        `a ${CACHE_HIT_EVENT} listener failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private wait(flight: Flight): Promise<string | undefined | typeof TIMED_OUT> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.config.CACHE_SINGLE_FLIGHT_WAIT_MS);
    });
    return Promise.race([flight.result, timeout]).finally(() => clearTimeout(timer));
  }

  /** Registers this request as the one that calls upstream for `key`. */
  private lead(key: CacheKey, policy: CachePolicy, op: CacheEntry['op']): CacheFiller {
    let resolve!: (json: string | undefined) => void;
    const result = new Promise<string | undefined>((done) => (resolve = done));
    const flight: Flight = { result, resolve };
    this.flights.set(key.key, flight);
    return this.filler(key, policy, op, flight);
  }

  private filler(
    key: CacheKey,
    policy: CachePolicy,
    op: CacheEntry['op'],
    flight: Flight | undefined,
  ): CacheFiller {
    const finish = (json: string | undefined, write: Promise<void>): void => {
      // Waiters get the answer now; the flight stays findable until the store has it, so no request
      // arriving in between misses.
      flight?.resolve(json);
      void write.finally(() => {
        if (flight && this.flights.get(key.key) === flight) this.flights.delete(key.key);
      });
    };
    const base = { key: key.key, createdAt: 0, op };
    return {
      fillResponse: (response: CanonicalResponse) => {
        const json = entryJson({ ...base, createdAt: Date.now(), kind: 'response' }, { response });
        finish(json, this.write(key.key, json, policy.ttlSeconds));
      },
      fillStream: (chunkJson: string[]) => {
        const json = entryJson({ ...base, createdAt: Date.now(), kind: 'stream' }, { chunkJson });
        finish(json, this.write(key.key, json, policy.ttlSeconds));
      },
      fillPrediction: (prediction: string) => {
        const json = entryJson({ ...base, createdAt: Date.now(), kind: 'prediction' }, { prediction });
        finish(json, this.write(key.key, json, policy.ttlSeconds));
      },
      abandon: () => {
        this.stats.add('skippedWrites');
        finish(undefined, Promise.resolve());
      },
    };
  }

  private async write(key: string, json: string, ttlSeconds: number): Promise<void> {
    if (Buffer.byteLength(json) > this.config.CACHE_MAX_ENTRY_BYTES) {
      this.stats.add('skippedWrites');
      return;
    }
    try {
      const encoded = await encodeEntry(json, this.config.CACHE_COMPRESS_MIN_BYTES);
      await this.store.set(key, encoded, ttlSeconds * 1000);
      this.stats.add('writes');
      this.stats.add('bytesWritten', encoded.length);
    } catch (error) {
      this.stats.add('storeErrors');
      this.logger.debug(`cache write failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async read(key: string): Promise<CacheEntry | undefined> {
    try {
      const stored = await this.store.get(key);
      if (!stored) return undefined;
      this.stats.add('bytesRead', stored.length);
      return await decodeEntry(stored, key);
    } catch (error) {
      this.stats.add('storeErrors');
      this.logger.debug(`cache read failed: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  private parse(json: string): CacheEntry | undefined {
    try {
      return JSON.parse(json) as CacheEntry;
    } catch {
      return undefined;
    }
  }
}

/**
 * Whether an entry can answer this request: a stream entry without usage cannot answer a JSON request or
 * a stream that asked for usage (the caller would lose its token counts), and must hold a first chunk.
 */
function servable(entry: CacheEntry, wantsStream: boolean, request: CanonicalRequest): boolean {
  if (entry.kind === 'response') return entry.response !== undefined;
  if (!entry.chunks || entry.chunks.length === 0) return false;
  const wantsUsage =
    !wantsStream ||
    (request.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  return !wantsUsage || usageOf(entry) !== undefined;
}
