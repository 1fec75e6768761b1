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
    ${ON_CONFLICT}`;
}

const ON_CONFLICT = `ON CONFLICT (${KEYS}) DO UPDATE SET
      ${SUMS.map((c) => `${c} = usage_rollup_hourly.${c} + EXCLUDED.${c}`).join(',\n      ')},
      latency_hist = usage_hist_add(usage_rollup_hourly.latency_hist::bigint[], EXCLUDED.latency_hist)::integer[]`;

/** One roll-up row's worth of a batch, summed in the writer (the shape `ROLLUP_GROUPS_UPSERT` reads). */
export interface RollupGroup {
  hour: string;
  team_id: string | null;
  endpoint: string | null;
  provider: string | null;
  model: string | null;
  prompt_version: string | null;
  outcome: string;
  status_class: number;
  requests: number;
  errors: number;
  client_errors: number;
  server_errors: number;
  other_errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** Exact decimal text (scale 10), as numeric sums it. */
  cost_usd: string;
  unpriced: number;
  cache_hits: number;
  cancelled: number;
  latency_sum_ms: number;
  /** PostgreSQL array literal of HIST_BUCKETS counts. */
  latency_hist: string;
}

const HOUR_MS = 3_600_000;
const COST_SCALE = 10;

/**
 * A cost as numeric(20, 10) stores it, scaled by 10^10: the decimal text of the JSON number (what COPY
 * and jsonb hand PostgreSQL), rounded half away from zero at the 10th decimal, as numeric rounds.
 */
export function scaledCost(value: number): bigint {
  const [mantissa, exponent = '0'] = String(Math.abs(value)).toLowerCase().split('e');
  const [whole, fraction = ''] = mantissa.split('.');
  const shift = Number(exponent) + COST_SCALE - fraction.length;
  let digits = BigInt(whole + fraction);
  if (shift >= 0) digits *= 10n ** BigInt(shift);
  else {
    const divisor = 10n ** BigInt(-shift);
    const rest = digits % divisor;
    digits = digits / divisor + (rest * 2n >= divisor ? 1n : 0n);
  }
  return value < 0 ? -digits : digits;
}

function costText(scaled: bigint): string {
  const negative = scaled < 0n;
  const text = (negative ? -scaled : scaled).toString().padStart(COST_SCALE + 1, '0');
  return `${negative ? '-' : ''}${text.slice(0, -COST_SCALE)}.${text.slice(-COST_SCALE)}`;
}

/** The fields of a ledger row the roll-up reads (a subset of UsageRow). */
export interface RollupSource {
  started_at: string;
  team_id: string | null;
  endpoint: string | null;
  provider: string | null;
  model: string | null;
  prompt_version: string | null;
  outcome: string;
  status: number;
  latency_ms: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cost_usd: number | null;
  cache_hit: boolean;
}

/**
 * Sums a batch of ledger rows into roll-up rows, exactly as `rollupUpsert` does in SQL: the embedded
 * writer sends these few rows instead of having PostgreSQL's WebAssembly parse the whole batch a second
 * time (which doubled the database thread's CPU per request).
 */
export function rollupGroups(rows: readonly RollupSource[]): RollupGroup[] {
  const groups = new Map<string, { group: RollupGroup; cost: bigint; hist: number[] }>();
  for (const row of rows) {
    const hour = new Date(Math.floor(Date.parse(row.started_at) / HOUR_MS) * HOUR_MS).toISOString();
    const statusClass = Math.trunc(row.status / 100);
    const key = JSON.stringify([
      hour,
      row.team_id,
      row.endpoint,
      row.provider,
      row.model,
      row.prompt_version,
      row.outcome,
      statusClass,
    ]);
    let entry = groups.get(key);
    if (!entry) {
      entry = {
        group: {
          hour,
          team_id: row.team_id,
          endpoint: row.endpoint,
          provider: row.provider,
          model: row.model,
          prompt_version: row.prompt_version,
          outcome: row.outcome,
          status_class: statusClass,
          requests: 0,
          errors: 0,
          client_errors: 0,
          server_errors: 0,
          other_errors: 0,
          prompt_tokens: 0,
          completion_tokens: 0,
          cost_usd: '',
          unpriced: 0,
          cache_hits: 0,
          cancelled: 0,
          latency_sum_ms: 0,
          latency_hist: '',
        },
        cost: 0n,
        hist: new Array<number>(HIST_BUCKETS).fill(0),
      };
      groups.set(key, entry);
    }
    const g = entry.group;
    const error = row.outcome === 'error';
    g.requests++;
    if (error) g.errors++;
    if (row.status >= 400 && row.status < 500) g.client_errors++;
    if (row.status >= 500) g.server_errors++;
    if (error && (row.status < 400 || row.status > 599)) g.other_errors++;
    g.prompt_tokens += row.prompt_tokens ?? 0;
    g.completion_tokens += row.completion_tokens ?? 0;
    if (row.cost_usd === null) g.unpriced++;
    else entry.cost += scaledCost(row.cost_usd);
    if (row.cache_hit) g.cache_hits++;
    if (row.outcome === 'cancelled') g.cancelled++;
    g.latency_sum_ms += row.latency_ms;
    entry.hist[histBucket(row.latency_ms)]++;
  }
  return [...groups.values()].map(({ group, cost, hist }) => ({
    ...group,
    cost_usd: costText(cost),
    latency_hist: `{${hist.join(',')}}`,
  }));
}

/** Adds `rollupGroups` rows ($1, a JSON array) to the roll-up, in key order (no deadlock). */
export const ROLLUP_GROUPS_UPSERT = `INSERT INTO usage_rollup_hourly (${KEYS}, ${SUMS.join(', ')}, latency_hist)
    SELECT ${KEYS}, ${SUMS.join(', ')}, latency_hist
    FROM jsonb_to_recordset($1::jsonb) AS r(hour timestamptz, team_id text, endpoint text, provider text,
      model text, prompt_version text, outcome text, status_class smallint, requests bigint, errors bigint,
      client_errors bigint, server_errors bigint, other_errors bigint, prompt_tokens bigint,
      completion_tokens bigint, cost_usd numeric, unpriced bigint, cache_hits bigint, cancelled bigint,
      latency_sum_ms double precision, latency_hist integer[])
    ORDER BY ${KEYS}
    ${ON_CONFLICT}`;
