import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Hourly roll-up of the usage ledger, for the dashboard's hour and day charts: the raw ledger holds 8.6M
 * rows a day at 100 requests/s and a 30-day p95 over it takes minutes (docs/console.md has the figures).
 * One row per UTC hour × team × endpoint × provider × model × prompt version × outcome × status class
 * (status / 100), with the sums and a latency histogram: 146 fixed log-spaced buckets (index 1: under
 * 1 ms; index k in 2..145: [2^((k-2)/8), 2^((k-1)/8)) ms; index 146: 2^18 ms = 262 s and more), so a
 * quantile is known to within one bucket (a ratio of 2^(1/8), ±4.4% around the bucket's geometric middle).
 *
 * The ledger writer adds each batch's rows in the statement that inserts them (only the rows actually
 * inserted), so the roll-up always equals the ledger. Existing rows are rolled up here.
 */
export class UsageRollupHourly1765400000000 implements MigrationInterface {
  name = 'UsageRollupHourly1765400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE usage_rollup_hourly (
        hour timestamptz NOT NULL,
        team_id text,
        endpoint text,
        provider text,
        model text,
        prompt_version text,
        outcome text NOT NULL,
        status_class smallint NOT NULL,
        requests bigint NOT NULL,
        errors bigint NOT NULL,
        client_errors bigint NOT NULL,
        server_errors bigint NOT NULL,
        other_errors bigint NOT NULL,
        prompt_tokens bigint NOT NULL,
        completion_tokens bigint NOT NULL,
        cost_usd numeric(30, 10) NOT NULL,
        unpriced bigint NOT NULL,
        cache_hits bigint NOT NULL,
        cancelled bigint NOT NULL,
        latency_sum_ms double precision NOT NULL,
        latency_hist integer[] NOT NULL
      )`);
    await queryRunner.query(`
      CREATE UNIQUE INDEX usage_rollup_hourly_key ON usage_rollup_hourly
        (hour, team_id, endpoint, provider, model, prompt_version, outcome, status_class) NULLS NOT DISTINCT`);
    await queryRunner.query(`CREATE INDEX usage_rollup_hourly_team ON usage_rollup_hourly (team_id, hour)`);
    // Bucket index of a latency (1-based, for SQL arrays).
    await queryRunner.query(`
      CREATE FUNCTION usage_latency_bucket(ms double precision) RETURNS integer
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN ms < 1 THEN 1 ELSE least(146, 2 + floor(ln(ms) / ln(2) * 8)::integer) END
      $$`);
    // Dense histogram from (bucket index, count) pairs.
    await queryRunner.query(`
      CREATE FUNCTION usage_latency_hist(idx integer[], counts bigint[]) RETURNS integer[]
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT array_agg(coalesce(u.c, 0)::integer ORDER BY i)
        FROM generate_series(1, 146) AS i LEFT JOIN unnest(idx, counts) AS u(j, c) ON u.j = i
      $$`);
    // Element-wise sum (a NULL or shorter array counts as zeros), and the aggregate over it. PL/pgSQL
    // updates the state array in place: 3x faster than a SQL function rebuilding it for every row.
    await queryRunner.query(`
      CREATE FUNCTION usage_hist_add(a bigint[], b integer[]) RETURNS bigint[]
      LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
      BEGIN
        IF a IS NULL THEN
          RETURN b::bigint[];
        END IF;
        FOR i IN 1 .. coalesce(array_length(b, 1), 0) LOOP
          a[i] := coalesce(a[i], 0) + b[i];
        END LOOP;
        RETURN a;
      END
      $$`);
    await queryRunner.query(`
      CREATE AGGREGATE usage_hist_sum(integer[]) (SFUNC = usage_hist_add, STYPE = bigint[], PARALLEL = SAFE)`);
    await queryRunner.query(`
      INSERT INTO usage_rollup_hourly
      SELECT hour, team_id, endpoint, provider, model, prompt_version, outcome, status_class,
        sum(requests), sum(errors), sum(client_errors), sum(server_errors), sum(other_errors),
        sum(prompt_tokens), sum(completion_tokens), sum(cost_usd), sum(unpriced), sum(cache_hits),
        sum(cancelled), sum(latency_sum_ms), usage_latency_hist(array_agg(bucket), array_agg(requests))
      FROM (
        SELECT date_trunc('hour', started_at, 'UTC') AS hour, team_id, endpoint, provider, model,
          prompt_version, outcome, (status / 100)::smallint AS status_class,
          usage_latency_bucket(latency_ms) AS bucket,
          count(*) AS requests,
          count(*) FILTER (WHERE outcome = 'error') AS errors,
          count(*) FILTER (WHERE status >= 400 AND status < 500) AS client_errors,
          count(*) FILTER (WHERE status >= 500) AS server_errors,
          count(*) FILTER (WHERE outcome = 'error' AND (status < 400 OR status > 599)) AS other_errors,
          coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
          coalesce(sum(completion_tokens), 0) AS completion_tokens,
          coalesce(sum(cost_usd), 0) AS cost_usd,
          count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced,
          count(*) FILTER (WHERE cache_hit) AS cache_hits,
          count(*) FILTER (WHERE outcome = 'cancelled') AS cancelled,
          sum(latency_ms) AS latency_sum_ms
        FROM usage_records
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
      ) b
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE usage_rollup_hourly`);
    await queryRunner.query(`DROP AGGREGATE usage_hist_sum(integer[])`);
    await queryRunner.query(`DROP FUNCTION usage_hist_add(bigint[], integer[])`);
    await queryRunner.query(`DROP FUNCTION usage_latency_hist(integer[], bigint[])`);
    await queryRunner.query(`DROP FUNCTION usage_latency_bucket(double precision)`);
  }
}
