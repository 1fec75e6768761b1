import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { GroupBy, SeriesGroupBy, UsageFilter } from 'src/modules/billing/dto/usage-query.dto';
import { histAdd } from 'src/modules/billing/usage-rollup';

/** Sums over a set of ledger rows. */
export interface UsageSums {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** USD, as an exact decimal string from PostgreSQL (10 decimals). */
  costUsd: string;
  /** Requests without a price (no cost recorded). */
  unpricedRequests: number;
  errors: number;
  cacheHits: number;
  cancelled: number;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
}

/** One time bucket of the ledger (`bucket`: its start, Unix seconds). */
export interface UsageSeriesRow {
  bucket: number;
  requests: number;
  errors: number;
  clientErrors: number;
  serverErrors: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  totalTokens: number;
  costUsd: number;
}

/** Sums of one time bucket (of one group) with its latency histogram (see usage-rollup.ts). */
export interface UsageHistRow {
  bucket: number;
  group: string | null;
  requests: number;
  errors: number;
  clientErrors: number;
  serverErrors: number;
  totalTokens: number;
  costUsd: number;
  hist: number[];
}

/** The ledger column (same name in the roll-up) behind each series breakdown. */
const SERIES_GROUPS: Record<SeriesGroupBy, string> = {
  endpoint: 'u.endpoint',
  team: 'u.team_id',
  model: 'u.model',
  provider: 'u.provider',
  prompt: 'u.prompt_version',
};

export type UsageGroupRow = UsageSums & Record<string, string | number | null>;

export interface UsageRecordRow {
  id: string;
  requestId: string;
  startedAt: string;
  finishedAt: string;
  surface: string;
  operation: string | null;
  stream: boolean;
  principalId: string | null;
  teamId: string | null;
  apiKeyId: string | null;
  requested: string | null;
  route: string | null;
  endpoint: string | null;
  target: string | null;
  provider: string | null;
  model: string | null;
  modelVersion: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  tokensEstimated: boolean;
  costUsd: string | null;
  latencyMs: number;
  ttftMs: number | null;
  status: number;
  outcome: string;
  errorCode: string | null;
  attempts: number;
  cacheHit: boolean;
  promptVersion: string | null;
  moderationInput: string | null;
  moderationOutput: string | null;
  /** A call made on a caller's behalf: the caller's row id, and why (`guardrail_judge`, `summary`, …). */
  parentId: string | null;
  purpose: string | null;
}

/** Group key → selected columns (alias → SQL), GROUP BY expressions and the join it needs. */
const GROUPS: Record<GroupBy, { select: [string, string][]; join?: string }> = {
  team: {
    select: [
      ['teamId', 'u.team_id'],
      ['teamName', 't.name'],
    ],
    join: 'LEFT JOIN auth_teams t ON t.id::text = u.team_id',
  },
  key: {
    select: [
      ['keyId', 'u.api_key_id'],
      ['keyName', 'k.name'],
    ],
    join: 'LEFT JOIN auth_api_keys k ON k.id::text = u.api_key_id',
  },
  principal: {
    select: [
      ['principalId', 'u.principal_id'],
      ['principalName', 'p.name'],
    ],
    join: 'LEFT JOIN auth_principals p ON p.id::text = u.principal_id',
  },
  endpoint: { select: [['endpoint', 'u.endpoint']] },
  model: {
    select: [
      ['provider', 'u.provider'],
      ['model', 'u.model'],
    ],
  },
  // Prompt A/B tests: requests, errors, latency and cost per template version (`name@version`).
  prompt: { select: [['prompt', 'u.prompt_version']] },
  day: { select: [['day', `to_char(u.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`]] },
  outcome: { select: [['outcome', 'u.outcome']] },
};

const SUMS = `
  count(*)::float8 AS "requests",
  coalesce(sum(u.prompt_tokens), 0)::float8 AS "promptTokens",
  coalesce(sum(u.completion_tokens), 0)::float8 AS "completionTokens",
  (coalesce(sum(u.prompt_tokens), 0) + coalesce(sum(u.completion_tokens), 0))::float8 AS "totalTokens",
  coalesce(sum(u.cost_usd), 0)::numeric(30, 10)::text AS "costUsd",
  (count(*) FILTER (WHERE u.cost_usd IS NULL))::float8 AS "unpricedRequests",
  (count(*) FILTER (WHERE u.outcome = 'error'))::float8 AS "errors",
  (count(*) FILTER (WHERE u.cache_hit))::float8 AS "cacheHits",
  (count(*) FILTER (WHERE u.outcome = 'cancelled'))::float8 AS "cancelled",
  avg(u.latency_ms)::float8 AS "avgLatencyMs",
  (percentile_cont(0.95) WITHIN GROUP (ORDER BY u.latency_ms))::float8 AS "p95LatencyMs"`;

function where(filter: UsageFilter, params: unknown[], time = 'u.started_at'): string {
  const clauses: string[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    clauses.push(sql.replace('?', `$${params.length}`));
  };
  add(`${time} >= ?`, filter.from);
  add(`${time} < ?`, filter.to);
  if (filter.team !== undefined) add('u.team_id IS NOT DISTINCT FROM ?', filter.team);
  if (filter.key) add('u.api_key_id = ?', filter.key);
  if (filter.principal) add('u.principal_id = ?', filter.principal);
  if (filter.endpoint) add('u.endpoint = ?', filter.endpoint);
  if (filter.model) add('u.model = ?', filter.model);
  if (filter.provider) add('u.provider = ?', filter.provider);
  if (filter.outcome) add('u.outcome = ?', filter.outcome);
  if (filter.status) add('u.status = ?', filter.status);
  if (filter.requestId) add('u.request_id = ?', filter.requestId);
  return `WHERE ${clauses.join(' AND ')}`;
}

/** Reads the usage ledger. Every value is a bound parameter; group keys come from a fixed table. */
@Injectable()
export class UsageQueryRepository {
  constructor(private readonly dataSource: DataSource) {}

  async totals(filter: UsageFilter): Promise<UsageSums> {
    const params: unknown[] = [];
    const rows: UsageSums[] = await this.dataSource.query(
      `SELECT ${SUMS} FROM usage_records u ${where(filter, params)}`,
      params,
    );
    return rows[0];
  }

  /** Sums per group, ordered by the group keys; `limit + 1` rows are asked to detect truncation. */
  async grouped(filter: UsageFilter, groupBy: readonly GroupBy[], limit: number): Promise<UsageGroupRow[]> {
    const params: unknown[] = [];
    const selects = groupBy.flatMap((g) => GROUPS[g].select);
    const joins = [...new Set(groupBy.map((g) => GROUPS[g].join).filter(Boolean))].join(' ');
    const keys = selects.map(([alias, sql]) => `${sql} AS "${alias}"`).join(', ');
    const groups = selects.map(([, sql]) => sql).join(', ');
    const order = selects.map(([, sql]) => `${sql} NULLS FIRST`).join(', ');
    params.push(limit);
    const limitParam = `$${params.length}`;
    return this.dataSource.query(
      `SELECT ${keys}, ${SUMS} FROM usage_records u ${joins} ${where(filter, params)}
       GROUP BY ${groups} ORDER BY ${order} LIMIT ${limitParam}`,
      params,
    );
  }

  /**
   * Per time bucket of `seconds` (aligned to the Unix epoch, so UTC): requests, errors, p50/p95 latency,
   * tokens and cost; only buckets with traffic (the service fills the gaps).
   */
  async series(filter: UsageFilter, seconds: number): Promise<UsageSeriesRow[]> {
    const params: unknown[] = [];
    const clause = where(filter, params);
    params.push(seconds);
    const s = `$${params.length}`;
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT (floor(extract(epoch FROM u.started_at) / ${s}) * ${s})::float8 AS "bucket",
         count(*)::float8 AS "requests",
         (count(*) FILTER (WHERE u.outcome = 'error'))::float8 AS "errors",
         (count(*) FILTER (WHERE u.status >= 400 AND u.status < 500))::float8 AS "clientErrors",
         (count(*) FILTER (WHERE u.status >= 500))::float8 AS "serverErrors",
         (percentile_cont(0.5) WITHIN GROUP (ORDER BY u.latency_ms))::float8 AS "p50LatencyMs",
         (percentile_cont(0.95) WITHIN GROUP (ORDER BY u.latency_ms))::float8 AS "p95LatencyMs",
         (coalesce(sum(u.prompt_tokens), 0) + coalesce(sum(u.completion_tokens), 0))::float8 AS "totalTokens",
         coalesce(sum(u.cost_usd), 0)::float8 AS "costUsd"
       FROM usage_records u ${clause} GROUP BY 1 ORDER BY 1`,
      params,
    );
    return rows.map((r) => ({
      bucket: Number(r.bucket),
      requests: Number(r.requests),
      errors: Number(r.errors),
      clientErrors: Number(r.clientErrors),
      serverErrors: Number(r.serverErrors),
      p50LatencyMs: num(r.p50LatencyMs),
      p95LatencyMs: num(r.p95LatencyMs),
      totalTokens: Number(r.totalTokens),
      costUsd: Number(r.costUsd),
    }));
  }

  /**
   * Per time bucket of `seconds` (and per `groupBy` value): sums and a latency histogram, from the raw
   * ledger (any bucket size and filter) or from the hourly roll-up (whole hours only, and only the filters
   * the roll-up keeps: team, endpoint, model, provider, outcome; the caller checks).
   */
  async seriesHist(
    filter: UsageFilter,
    seconds: number,
    groupBy: SeriesGroupBy | undefined,
    source: 'raw' | 'rollup',
  ): Promise<UsageHistRow[]> {
    const params: unknown[] = [];
    const time = source === 'raw' ? 'u.started_at' : 'u.hour';
    const clause = where(filter, params, time);
    params.push(seconds);
    const s = `$${params.length}`;
    const group = groupBy ? SERIES_GROUPS[groupBy] : 'NULL::text';
    const bucket = `(floor(extract(epoch FROM ${time}) / ${s}) * ${s})::float8`;
    const rows: Record<string, unknown>[] =
      source === 'raw'
        ? await this.dataSource.query(
            `SELECT ${bucket} AS "bucket", ${group} AS "group",
               usage_latency_bucket(u.latency_ms) AS "idx",
               count(*)::float8 AS "requests",
               (count(*) FILTER (WHERE u.outcome = 'error'))::float8 AS "errors",
               (count(*) FILTER (WHERE u.status >= 400 AND u.status < 500))::float8 AS "clientErrors",
               (count(*) FILTER (WHERE u.status >= 500))::float8 AS "serverErrors",
               (coalesce(sum(u.prompt_tokens), 0) + coalesce(sum(u.completion_tokens), 0))::float8 AS "totalTokens",
               coalesce(sum(u.cost_usd), 0)::float8 AS "costUsd"
             FROM usage_records u ${clause} GROUP BY 1, 2, 3`,
            params,
          )
        : await this.dataSource.query(
            `SELECT ${bucket} AS "bucket", ${group} AS "group",
               sum(u.requests)::float8 AS "requests",
               sum(u.errors)::float8 AS "errors",
               sum(u.client_errors)::float8 AS "clientErrors",
               sum(u.server_errors)::float8 AS "serverErrors",
               (sum(u.prompt_tokens) + sum(u.completion_tokens))::float8 AS "totalTokens",
               sum(u.cost_usd)::float8 AS "costUsd",
               usage_hist_sum(u.latency_hist) AS "hist"
             FROM usage_rollup_hourly u ${clause} GROUP BY 1, 2`,
            params,
          );
    // Raw rows come one per histogram bucket: fold them into one row per (bucket, group).
    const out = new Map<string, UsageHistRow>();
    for (const r of rows) {
      const group = r.group === null ? null : (r.group as string);
      const key = `${String(r.bucket)}|${group ?? '\0'}`;
      let row = out.get(key);
      if (!row) {
        row = {
          bucket: Number(r.bucket),
          group,
          requests: 0,
          errors: 0,
          clientErrors: 0,
          serverErrors: 0,
          totalTokens: 0,
          costUsd: 0,
          hist: [],
        };
        out.set(key, row);
      }
      row.requests += Number(r.requests);
      row.errors += Number(r.errors);
      row.clientErrors += Number(r.clientErrors);
      row.serverErrors += Number(r.serverErrors);
      row.totalTokens += Number(r.totalTokens);
      row.costUsd += Number(r.costUsd);
      if (source === 'raw')
        row.hist[Number(r.idx) - 1] = (row.hist[Number(r.idx) - 1] ?? 0) + Number(r.requests);
      else histAdd(row.hist, r.hist as (number | string)[]);
    }
    for (const row of out.values()) for (let i = 0; i < row.hist.length; i++) row.hist[i] ??= 0;
    return [...out.values()];
  }

  /** Team names for ids (the series legend). */
  async teamNames(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows: { id: string; name: string }[] = await this.dataSource.query(
      `SELECT id::text AS id, name FROM auth_teams WHERE id::text = ANY($1::text[])`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /** Individual records, newest first, after the (startedAt, id) cursor. */
  async records(
    filter: UsageFilter,
    before: { startedAt: string; id: string } | undefined,
    limit: number,
  ): Promise<UsageRecordRow[]> {
    const params: unknown[] = [];
    let sql = `SELECT * FROM usage_records u ${where(filter, params)}`;
    if (before) {
      params.push(before.startedAt, before.id);
      sql += ` AND (u.started_at, u.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    params.push(limit);
    sql += ` ORDER BY u.started_at DESC, u.id DESC LIMIT $${params.length}`;
    const rows: Record<string, unknown>[] = await this.dataSource.query(sql, params);
    return rows.map(toRecord);
  }
}

const iso = (v: unknown) => (v instanceof Date ? v : new Date(v as string)).toISOString();
const str = (v: unknown): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v);
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function toRecord(r: Record<string, unknown>): UsageRecordRow {
  return {
    id: String(r.id),
    requestId: String(r.request_id),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    surface: String(r.surface),
    operation: str(r.operation),
    stream: r.stream === true,
    principalId: str(r.principal_id),
    teamId: str(r.team_id),
    apiKeyId: str(r.api_key_id),
    requested: str(r.requested),
    route: str(r.route),
    endpoint: str(r.endpoint),
    target: str(r.target),
    provider: str(r.provider),
    model: str(r.model),
    modelVersion: str(r.model_version),
    promptTokens: num(r.prompt_tokens),
    completionTokens: num(r.completion_tokens),
    tokensEstimated: r.tokens_estimated === true,
    costUsd: str(r.cost_usd),
    latencyMs: Number(r.latency_ms),
    ttftMs: num(r.ttft_ms),
    status: Number(r.status),
    outcome: String(r.outcome),
    errorCode: str(r.error_code),
    attempts: Number(r.attempts),
    cacheHit: r.cache_hit === true,
    promptVersion: str(r.prompt_version),
    moderationInput: str(r.moderation_input),
    moderationOutput: str(r.moderation_output),
    parentId: str(r.parent_id),
    purpose: str(r.purpose),
  };
}
