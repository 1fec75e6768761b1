import { DataSource } from 'typeorm';
import { rollupUpsert, ROLLUP_SOURCE_COLUMNS } from 'src/modules/billing/usage-rollup';

/** Synthetic traffic: 5 teams, each on 4 of 8 endpoints; 2 endpoints A/B-test 2 prompt versions. */
export const BENCH_TEAMS = ['team-a', 'team-b', 'team-c', 'team-d', 'team-e'];
export const BENCH_ENDPOINTS: readonly [string, string, string, number][] = [
  // endpoint, provider, model, USD per 1k tokens
  ['chat-gpt4o', 'openai', 'gpt-4o', 0.005],
  ['chat-mini', 'openai', 'gpt-4o-mini', 0.0003],
  ['claude', 'anthropic', 'claude-sonnet-4', 0.006],
  ['haiku', 'anthropic', 'claude-haiku', 0.001],
  ['gemini', 'gemini', 'gemini-2.0-pro', 0.004],
  ['embed', 'openai', 'text-embedding-3-small', 0.00002],
  ['llama', 'bedrock', 'llama3-70b', 0.0008],
  ['dbrx', 'databricks', 'dbrx-instruct', 0.0012],
];

const arr = (values: readonly (string | number)[]) =>
  `ARRAY[${values.map((v) => (typeof v === 'number' ? String(v) : `'${v}'`)).join(', ')}]`;

/**
 * Inserts `seconds × rate` ledger rows starting at `start` (evenly spaced), and adds them to the hourly
 * roll-up with the writer's own SQL. Ids are sequential (`seq` is the first) so the primary key grows at
 * its right edge: the fill is about the queries, not about random-UUID index inserts.
 * Outcomes: 93% success, 3% cache hits, 2% 4xx (400/429), 1.5% 5xx (502), 0.5% cancelled (499);
 * latency log-normal around 800 ms (σ 0.8), ~1% cache hits at ~5 ms.
 */
export async function fillLedger(
  db: DataSource,
  start: Date,
  seconds: number,
  rate: number,
  seq: number,
): Promise<void> {
  const count = seconds * rate;
  const step = 1000 / rate;
  await db.query(
    `WITH g AS (
       SELECT n, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
         floor(random() * 5)::int AS t, floor(random() * 4)::int AS e
       FROM generate_series($2::bigint, $2::bigint + $3 - 1) AS n
     ), x AS (
       SELECT g.*, (t * 2 + e) % 8 + 1 AS ep,
         CASE WHEN r1 < 0.02 THEN (CASE WHEN r2 < 0.5 THEN 400 ELSE 429 END)
              WHEN r1 < 0.035 THEN 502 WHEN r1 < 0.04 THEN 499 ELSE 200 END AS status,
         CASE WHEN r1 < 0.035 THEN 'error' WHEN r1 < 0.04 THEN 'cancelled'
              WHEN r1 < 0.07 THEN 'cache_hit' ELSE 'success' END AS outcome,
         50 + floor(r3 * 1950)::int AS pt, 10 + floor(r4 * 790)::int AS ct
       FROM g
     ), rows AS (
       INSERT INTO usage_records (id, request_id, started_at, finished_at, surface, operation, stream,
         principal_id, team_id, api_key_id, requested, route, endpoint, target, provider, model,
         prompt_tokens, completion_tokens, cost_usd, latency_ms, status, outcome, attempts, cache_hit,
         prompt_version)
       SELECT
         (lpad(to_hex(n), 8, '0') || '-0000-4000-8000-000000000000')::uuid, 'req-' || n,
         $1::timestamptz + (n - $2) * $4 * interval '1 millisecond',
         $1::timestamptz + (n - $2) * $4 * interval '1 millisecond' + lat * interval '1 millisecond',
         'openai', 'chat', r5 < 0.3, 'p-' || t || '-' || floor(r2 * 8)::int,
         (${arr(BENCH_TEAMS)})[t + 1], 'k-' || t || '-' || floor(r3 * 4)::int,
         (${arr(BENCH_ENDPOINTS.map((e) => e[0]))})[ep], (${arr(BENCH_ENDPOINTS.map((e) => e[0]))})[ep],
         (${arr(BENCH_ENDPOINTS.map((e) => e[0]))})[ep], 'upstream-' || ep,
         (${arr(BENCH_ENDPOINTS.map((e) => e[1]))})[ep], (${arr(BENCH_ENDPOINTS.map((e) => e[2]))})[ep],
         CASE WHEN outcome IN ('success', 'cache_hit') THEN pt END,
         CASE WHEN outcome IN ('success', 'cache_hit') THEN ct END,
         CASE WHEN outcome = 'success' THEN round(((pt + ct) * (${arr(BENCH_ENDPOINTS.map((e) => e[3]))})[ep] / 1000)::numeric, 10) END,
         lat, status, outcome, 1, outcome = 'cache_hit',
         CASE WHEN ep IN (1, 3) THEN 'support-bot@' || (1 + floor(r5 * 2)::int) END
       FROM (SELECT x.*, CASE WHEN outcome = 'cache_hit' THEN 2 + r3 * 6
                         ELSE exp(ln(800) + 0.8 * sqrt(-2 * ln(greatest(r4, 1e-12))) * cos(2 * pi() * r2)) END AS lat
             FROM x) y
       RETURNING ${ROLLUP_SOURCE_COLUMNS}
     )
     ${rollupUpsert('rows')}`,
    [start.toISOString(), seq, count, step],
  );
}
