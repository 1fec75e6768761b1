import { createLocalJWKSet, errors, JSONWebKeySet, JWTHeaderParameters, FlattenedJWSInput } from 'jose';

export type JwksFetch = (url: string, timeoutMs: number) => Promise<JSONWebKeySet>;

export class JwksUnavailableError extends Error {}

export interface JwksCacheOptions {
  /** Resolved lazily (OIDC discovery may need a round trip first). */
  url: () => Promise<string>;
  fetch: JwksFetch;
  maxAgeMs: number;
  cooldownMs: number;
  timeoutMs: number;
  now?: () => number;
}

/** 1 s after the first failed fetch, doubling to at most a minute. */
export const JWKS_BACKOFF_BASE_MS = 1_000;
export const JWKS_BACKOFF_MAX_MS = 60_000;

export function backoffMs(failures: number): number {
  return Math.min(JWKS_BACKOFF_MAX_MS, JWKS_BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 16));
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;
type Resolver = (header: JWTHeaderParameters, token: FlattenedJWSInput) => ReturnType<LocalSet>;

/**
 * The identity provider's signing keys, cached. Only `kid`/`alg` of a token select a key: `jku`, `x5u`
 * and embedded `jwk` headers are never followed. An unknown `kid` triggers at most one refetch per
 * cooldown (a flood of random kids cannot hammer the IdP); a stale set is refreshed in the background
 * and kept if the refresh fails, so an IdP outage does not log anyone out. Failed fetches back off
 * exponentially (1 s, 2 s, … 60 s): during an outage, tokens are refused without a fetch each.
 */
export class JwksCache {
  private local: LocalSet | undefined;
  private fetchedAt = 0;
  /** Refetches caused by an unknown `kid` are rate-limited; the first load and age-based refreshes are not. */
  private lastUnknownKidFetch = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  /** Failed fetches in a row, and when the next fetch may start (exponential back-off). */
  private failedFetches = 0;
  private retryAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly options: JwksCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  readonly resolve: Resolver = async (header, token) => {
    if (!this.local) await this.refresh(true);
    else if (this.now() - this.fetchedAt > this.options.maxAgeMs)
      void this.refresh(false).catch(() => undefined);
    try {
      return await this.local!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      if (this.now() - this.lastUnknownKidFetch < this.options.cooldownMs) throw error;
      this.lastUnknownKidFetch = this.now();
      await this.refresh(true);
      return this.local!(header, token);
    }
  };

  private async refresh(mustSucceed: boolean): Promise<void> {
    if (!this.inflight && this.now() < this.retryAt) {
      // Backing off after failures: forged tokens (or many callers) during an outage cause no fetches.
      if (mustSucceed) throw new JwksUnavailableError('the identity provider keys could not be fetched');
      return;
    }
    if (!this.inflight) {
      this.inflight = (async () => {
        try {
          const url = await this.options.url();
          const set = await this.options.fetch(url, this.options.timeoutMs);
          if (!set || !Array.isArray(set.keys)) throw new Error('not a JWK set');
          this.local = createLocalJWKSet(set);
          this.fetchedAt = this.now();
          this.failedFetches = 0;
          this.retryAt = Number.NEGATIVE_INFINITY;
        } catch (error) {
          this.failedFetches += 1;
          this.retryAt = this.now() + backoffMs(this.failedFetches);
          throw error;
        } finally {
          this.inflight = undefined;
        }
      })();
    }
    try {
      await this.inflight;
    } catch {
      // With keys in hand an unreachable IdP is not the caller's fault; without them we cannot judge.
      if (mustSucceed) throw new JwksUnavailableError('the identity provider keys could not be fetched');
    }
  }
}
