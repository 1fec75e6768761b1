import { Operation, Usage } from 'src/modules/providers/provider-adapter';

export const CACHE_HIT_EVENT = 'cache.hit';

/**
 * Emitted once per request answered from the cache. The upstream was not called, so the request costs
 * nothing; `usage` is what the original call consumed, i.e. the tokens (and, priced, the money) saved.
 */
export class CacheHitEvent {
  constructor(
    readonly requestId: string,
    readonly endpoint: string,
    readonly provider: string,
    readonly modelName: string | undefined,
    readonly op: Operation,
    readonly teamId: string | null,
    readonly principalId: string | null,
    readonly apiKeyId: string | null,
    /** Usage of the cached answer; null when the provider reported none. */
    readonly usage: Usage | null,
    readonly ageSeconds: number,
    readonly stream: boolean,
    /** True when the answer came from an identical request still in flight (single-flight), not the store. */
    readonly shared: boolean,
  ) {}
}

export const CACHE_INVALIDATED_EVENT = 'cache.invalidated';

/**
 * An admin invalidated cached answers (`all`, or by endpoint and/or team): other answer stores (the
 * semantic cache) drop theirs too and return how many they deleted (awaited with `emitAsync`).
 */
export class CacheInvalidatedEvent {
  constructor(
    readonly endpoint: string | undefined,
    readonly teamId: string | undefined,
  ) {}
}
