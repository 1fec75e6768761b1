export const SEMANTIC_CACHE_LOOKUP = 'semantic_cache.lookup';

/** `hit`: reused; `near_miss`: the best candidate fell short of the threshold by less than 0.1; `miss`. */
export type SemanticOutcome = 'hit' | 'near_miss' | 'miss';

/** One semantic-cache lookup (for the hit / near-miss metric). */
export class SemanticCacheLookupEvent {
  constructor(
    readonly endpoint: string,
    readonly outcome: SemanticOutcome,
    /** The best candidate's cosine similarity, when there was one. */
    readonly similarity: number | undefined,
  ) {}
}
