import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Rate limits, token quotas and budgets (src/modules/limits). */
export const limitsEnv = {
  /** Limits' own Redis command timeout (the shared connection's is tuned for the cache). */
  LIMITS_REDIS_TIMEOUT_MS: int(10, 200).default(200),
  /** After a failed Redis call, how long counters stay on the per-replica fallback before Redis is retried. */
  LIMITS_REDIS_RETRY_MS: int(0, 60_000).default(1_000),
  /** While Redis is unreachable each replica enforces limit / divisor on its own (set to the replica count). */
  LIMITS_FALLBACK_DIVISOR: int(1, 10_000).default(1),
  /** Completion tokens reserved when a request gives no max_tokens. */
  LIMITS_DEFAULT_MAX_TOKENS: int(1, 10_000_000).default(4096),
  /** A concurrency slot or budget reservation a replica never settles (it died) is released after this. */
  LIMITS_HOLD_TTL_MS: int(1_000, 86_400_000).default(900_000),
  /** Timeout of a budget alert webhook POST. */
  LIMITS_ALERT_TIMEOUT_MS: int(100, 60_000).default(5_000),
};
