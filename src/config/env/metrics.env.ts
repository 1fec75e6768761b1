import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Prometheus metrics and readiness (src/modules/observability/metrics, src/modules/health). */
export const metricsEnv = {
  /**
   * Bearer token a scraper sends to GET /metrics. Unset: /metrics needs a principal with the
   * `metrics.read` permission (operator or admin), like any other protected route.
   */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Also serve GET /metrics on this port, without authentication (a port only Prometheus reaches; 0 = any free port). */
  METRICS_PORT: int(0, 65535).optional(),
  /** Address of the METRICS_PORT listener; defaults to HOST. */
  METRICS_HOST: z.string().min(1).optional(),
  /** Teams that get their own `team` label value (first seen first); the rest are counted as `other`. */
  METRICS_MAX_TEAMS: int(0, 1000).default(20),
  /** Readiness: a registry whose last successful sync is older than this is `degraded` (default 3 × interval). */
  HEALTH_REGISTRY_STALE_SECONDS: int(1, 30 * 86_400).optional(),
  /** Readiness: how long each dependency check (database, Redis) may take before it counts as failed. */
  HEALTH_CHECK_TIMEOUT_MS: int(50, 60_000).default(2_000),
};
