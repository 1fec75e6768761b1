/**
 * The hourly roll-up of the usage ledger (table `usage_rollup_hourly`, migration 1765400000000): the
 * SQL that adds ledger rows to it and the latency histogram's arithmetic.
 */

/** Histogram buckets: [0, 1 ms), then 8 per doubling from 1 ms to 2^18 ms, then 2^18 ms and more. */
export const HIST_BUCKETS = 146;
const PER_DOUBLING = 8;

/** 0-based bucket of a latency: what the SQL function `usage_latency_bucket` computes, minus one. */
export function histBucket(ms: number): number {
  return ms < 1 ? 0 : Math.min(HIST_BUCKETS - 1, 1 + Math.floor((Math.log(ms) / Math.log(2)) * PER_DOUBLING));
}

/** Lower bound (ms) of a 0-based bucket index. */
function lower(index: number): number {
  return index === 0 ? 0 : 2 ** ((index - 1) / PER_DOUBLING);
}

/**
 * The q-quantile estimated from a histogram (counts per bucket, 0-based): the geometric middle of the
 * bucket holding the rank, so within ±4.4% (2^(1/16)) of the true value's bucket; null when empty.
 */
export function histQuantile(hist: readonly number[], q: number): number | null {
  let total = 0;
  for (const n of hist) total += n;
  if (total === 0) return null;
  // The rank percentile_cont interpolates at (0-based): q × (n − 1); the bucket holding it.
  const rank = q * (total - 1);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen > rank) {
      if (i === 0) return 0.5;
      if (i === HIST_BUCKETS - 1) return lower(i);
      return Math.sqrt(lower(i) * lower(i + 1));
    }
  }
  return lower(hist.length - 1);
}

/** Adds `b` into `a` (element-wise, `a` grows as needed). */
export function histAdd(a: number[], b: readonly (number | string | null)[]): number[] {
  for (let i = 0; i < b.length; i++) a[i] = (a[i] ?? 0) + Number(b[i] ?? 0);
  return a;
}

const KEYS = 'hour, team_id, endpoint, provider, model, prompt_version, outcome, status_class';
const SUMS = [
  'requests',
  'errors',
  'client_errors',
  'server_errors',
  'other_errors',
  'prompt_tokens',
  'completion_tokens',
  'cost_usd',
  'unpriced',
  'cache_hits',
  'cancelled',
  'latency_sum_ms',
];

/** The ledger columns the roll-up reads (what the writer's `INSERT … RETURNING` hands it). */
export const ROLLUP_SOURCE_COLUMNS =
  'started_at, team_id, endpoint, provider, model, prompt_version, outcome, status, latency_ms, ' +
  'prompt_tokens, completion_tokens, cost_usd, cache_hit';

/**
 * Adds the ledger rows of `source` (a relation with ROLLUP_SOURCE_COLUMNS) to the roll-up. Rows are
 * upserted in key order so that two writers updating the same hours take their row locks in the same
 * order (no deadlock).
 */
export function rollupUpsert(source: string): string {
  return `INSERT INTO usage_rollup_hourly (${KEYS}, ${SUMS.join(', ')}, latency_hist)
    SELECT ${KEYS}, ${SUMS.map((c) => `sum(${c})`).join(', ')},
      usage_latency_hist(array_agg(bucket), array_agg(requests))
    FROM (
      SELECT date_trunc('hour', s.started_at, 'UTC') AS hour, s.team_id, s.endpoint, s.provider, s.model,
        s.prompt_version, s.outcome, (s.status / 100)::smallint AS status_class,
        usage_latency_bucket(s.latency_ms) AS bucket,
        count(*) AS requests,
        count(*) FILTER (WHERE s.outcome = 'error') AS errors,
        count(*) FILTER (WHERE s.status >= 400 AND s.status < 500) AS client_errors,
        count(*) FILTER (WHERE s.status >= 500) AS server_errors,
        count(*) FILTER (WHERE s.outcome = 'error' AND (s.status < 400 OR s.status > 599)) AS other_errors,
        coalesce(sum(s.prompt_tokens), 0) AS prompt_tokens,
        coalesce(sum(s.completion_tokens), 0) AS completion_tokens,
        coalesce(sum(s.cost_usd), 0) AS cost_usd,
        count(*) FILTER (WHERE s.cost_usd IS NULL) AS unpriced,
        count(*) FILTER (WHERE s.cache_hit) AS cache_hits,
        count(*) FILTER (WHERE s.outcome = 'cancelled') AS cancelled,
        sum(s.latency_ms) AS latency_sum_ms
      FROM ${source} s
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    ) b
    GROUP BY ${KEYS}
    ORDER BY ${KEYS}
    ON CONFLICT (${KEYS}) DO UPDATE SET
      ${SUMS.map((c) => `${c} = usage_rollup_hourly.${c} + EXCLUDED.${c}`).join(',\n      ')},
      latency_hist = usage_hist_add(usage_rollup_hourly.latency_hist::bigint[], EXCLUDED.latency_hist)::integer[]`;
}
