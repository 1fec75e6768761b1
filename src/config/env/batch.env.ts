import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** OpenAI Files and Batch API (src/modules/batch) and its job runner. */
export const batchEnv = {
  /** Largest file `POST /v1/files` accepts (OpenAI's batch input limit is 200 MB). */
  FILES_MAX_BYTES: int(1024, 1024 * 1024 * 1024).default(200 * 1024 * 1024),
  /** Most request lines one batch may hold (OpenAI: 50,000). */
  BATCH_MAX_LINES: int(1, 1_000_000).default(50_000),
  /** Whether this replica runs batch lines (every replica may; a line runs on one). */
  BATCH_WORKER_ENABLED: bool.default(true),
  /** How often an idle runner looks for work. */
  BATCH_POLL_INTERVAL_MS: int(10, 60_000).default(500),
  /** Lines of one endpoint in flight at once on this replica. */
  BATCH_CONCURRENCY_PER_ENDPOINT: int(1, 1_000).default(4),
  /** Lines in flight at once on this replica, all endpoints together. */
  BATCH_CONCURRENCY_TOTAL: int(1, 10_000).default(16),
  /**
   * How long a claimed line stays claimed without an answer before another runner may take it again
   * (a replica killed mid-line): longer than the slowest upstream call.
   */
  BATCH_LEASE_MS: int(1_000, 86_400_000).default(600_000),
  /** Share of each request-rate limit batch lines may use, so interactive traffic keeps the rest. */
  BATCH_RATE_LIMIT_SHARE: z.coerce.number().gt(0).max(1).default(0.5),
};
