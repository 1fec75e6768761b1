import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { Principal } from 'src/common/auth/principal';
import { actorOf } from 'src/modules/auth/actor';
import { BillingErrors } from 'src/modules/billing/billing.exception';
import { csvLine } from 'src/modules/billing/csv';
import {
  ChargebackQuery,
  UsageFilter,
  UsageQuery,
  UsageRecordsQuery,
  UsageSeriesQuery,
  BUCKETS,
  SeriesGroupBy,
} from 'src/modules/billing/dto/usage-query.dto';
import {
  UsageGroupRow,
  UsageHistRow,
  UsageQueryRepository,
  UsageSeriesRow,
  UsageSums,
} from 'src/modules/billing/usage-query.repository';
import { LedgerStatus, UsageRecorder } from 'src/modules/billing/usage-recorder.service';
import { histAdd, histQuantile } from 'src/modules/billing/usage-rollup';

const DAY_MS = 86_400_000;
/** Points of one time series: enough for 30 days by the hour or a day by the minute. */
const MAX_POINTS = 1_500;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** Sums as the API shows them: cost as a number of USD. */
function sums(row: UsageSums) {
  return {
    requests: row.requests,
    promptTokens: row.promptTokens,
    completionTokens: row.completionTokens,
    totalTokens: row.totalTokens,
    costUsd: Number(row.costUsd),
    unpricedRequests: row.unpricedRequests,
    errors: row.errors,
    cacheHits: row.cacheHits,
    cancelled: row.cancelled,
    avgLatencyMs: row.avgLatencyMs === null ? null : Math.round(row.avgLatencyMs * 1000) / 1000,
    p95LatencyMs: row.p95LatencyMs === null ? null : Math.round(row.p95LatencyMs * 1000) / 1000,
  };
}

const SUM_KEYS = new Set(Object.keys(sums({} as UsageSums)));

const HOUR_MS = 3_600_000;

const EMPTY_POINT = {
  requests: 0,
  errors: 0,
  clientErrors: 0,
  serverErrors: 0,
  p50LatencyMs: null,
  p95LatencyMs: null,
  totalTokens: 0,
  costUsd: 0,
};

type HistPoint = Omit<UsageHistRow, 'bucket' | 'group'>;

/** The roll-up holds whole UTC hours and only these dimensions (not keys, principals or exact statuses). */
function rollupServes(filter: UsageFilter, seconds: number): boolean {
  return (
    seconds % 3_600 === 0 &&
    filter.key === undefined &&
    filter.principal === undefined &&
    filter.status === undefined &&
    filter.requestId === undefined
  );
}

function addInto(points: Map<number, HistPoint>, r: HistPoint & { bucket: number }): void {
  const p = points.get(r.bucket);
  if (!p) {
    points.set(r.bucket, { ...r, hist: [...r.hist] });
    return;
  }
  p.requests += r.requests;
  p.errors += r.errors;
  p.clientErrors += r.clientErrors;
  p.serverErrors += r.serverErrors;
  p.totalTokens += r.totalTokens;
  p.costUsd += r.costUsd;
  histAdd(p.hist, r.hist);
}

const round3 = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);

function toPoint(bucket: number, p: HistPoint): UsageSeriesRow {
  return {
    bucket,
    requests: p.requests,
    errors: p.errors,
    clientErrors: p.clientErrors,
    serverErrors: p.serverErrors,
    p50LatencyMs: round3(histQuantile(p.hist, 0.5)),
    p95LatencyMs: round3(histQuantile(p.hist, 0.95)),
    totalTokens: p.totalTokens,
    // Summed as floats from several rows: rounded to the ledger's 10 decimals.
    costUsd: Math.round(p.costUsd * 1e10) / 1e10,
  };
}

/**
 * Usage queries and chargeback reports over the ledger. `billing.admin` sees every team; a caller with
 * only `billing.read` sees its own team (or, without a team, its own requests), and asking for another
 * team is refused.
 */
@Injectable()
export class UsageReportService {
  constructor(
    private readonly repository: UsageQueryRepository,
    private readonly recorder: UsageRecorder,
  ) {}

  async usage(request: FastifyRequest, q: UsageQuery) {
    const filter = this.scope(actorOf(request), q);
    const totals = await this.repository.totals(filter);
    const base = { from: filter.from.toISOString(), to: filter.to.toISOString(), totals: sums(totals) };
    if (!q.groupBy) return base;
    const rows = await this.repository.grouped(filter, q.groupBy, q.limit + 1);
    return {
      ...base,
      groupBy: q.groupBy,
      groups: rows.slice(0, q.limit).map(group),
      truncated: rows.length > q.limit,
    };
  }

  /**
   * Evenly spaced points from `from` to `to` (at most MAX_POINTS), zeros where there was no traffic; with
   * `groupBy`, also one series per group (the `top` groups by requests, the rest summed as "other").
   * Hour and day buckets read the hourly roll-up for whole hours (and the raw ledger for the partial hours
   * at the ends), unless a filter the roll-up does not keep applies; their p50/p95 are estimated from
   * latency histograms (within ±4.4%). Minute buckets read the raw ledger (exact percentiles without
   * `groupBy`).
   */
  async series(request: FastifyRequest, q: UsageSeriesQuery) {
    const filter = this.scope(actorOf(request), q);
    const seconds = BUCKETS[q.bucket];
    const first = Math.floor(filter.from.getTime() / 1000 / seconds) * seconds;
    const last = Math.floor((filter.to.getTime() - 1) / 1000 / seconds) * seconds;
    const count = Math.max(0, Math.round((last - first) / seconds) + 1);
    if (count > MAX_POINTS) throw BillingErrors.tooManyPoints(count, MAX_POINTS);
    const head = {
      from: filter.from.toISOString(),
      to: filter.to.toISOString(),
      bucket: q.bucket,
      bucketSeconds: seconds,
    };
    if (!q.groupBy && !rollupServes(filter, seconds)) {
      const rows = new Map((await this.repository.series(filter, seconds)).map((r) => [r.bucket, r]));
      const points: UsageSeriesRow[] = [];
      for (let i = 0; i < count; i++) {
        const bucket = first + i * seconds;
        points.push(rows.get(bucket) ?? { bucket, ...EMPTY_POINT });
      }
      return { ...head, points };
    }
    const rows = await this.histRows(filter, seconds, q.groupBy);
    const total = new Map<number, HistPoint>();
    const groups = new Map<string | null, { requests: number; points: Map<number, HistPoint> }>();
    for (const r of rows) {
      addInto(total, r);
      let g = groups.get(r.group);
      if (!g) groups.set(r.group, (g = { requests: 0, points: new Map() }));
      g.requests += r.requests;
      addInto(g.points, r);
    }
    const dense = (byBucket: Map<number, HistPoint>) => {
      const points = [];
      for (let i = 0; i < count; i++) {
        const bucket = first + i * seconds;
        const p = byBucket.get(bucket);
        points.push(p ? toPoint(bucket, p) : { bucket, ...EMPTY_POINT });
      }
      return points;
    };
    if (!q.groupBy) return { ...head, points: dense(total) };
    // Most requests first; ties by key so the order is stable.
    const ranked = [...groups.entries()].sort(
      (a, b) => b[1].requests - a[1].requests || String(a[0]).localeCompare(String(b[0])),
    );
    const top = ranked.slice(0, q.top);
    const rest = ranked.slice(q.top);
    const names =
      q.groupBy === 'team'
        ? await this.repository.teamNames(top.flatMap(([k]) => k ?? []))
        : new Map<string, string>();
    const series = top.map(([key, g]) => ({
      key,
      label: key === null ? '(none)' : (names.get(key) ?? key),
      other: false,
      requests: g.requests,
      points: dense(g.points),
    }));
    if (rest.length > 0) {
      const other = new Map<number, HistPoint>();
      let requests = 0;
      for (const [, g] of rest) {
        requests += g.requests;
        for (const [bucket, p] of g.points) addInto(other, { ...p, bucket });
      }
      series.push({
        key: null,
        label: `other (${rest.length})`,
        other: true,
        requests,
        points: dense(other),
      });
    }
    return { ...head, points: dense(total), groupBy: q.groupBy, series };
  }

  /** Histogram rows: whole hours from the roll-up where it serves, the rest (or all) from the ledger. */
  private async histRows(filter: UsageFilter, seconds: number, groupBy: SeriesGroupBy | undefined) {
    if (!rollupServes(filter, seconds)) return this.repository.seriesHist(filter, seconds, groupBy, 'raw');
    const from = Math.ceil(filter.from.getTime() / HOUR_MS) * HOUR_MS;
    const to = Math.floor(filter.to.getTime() / HOUR_MS) * HOUR_MS;
    if (from >= to) return this.repository.seriesHist(filter, seconds, groupBy, 'raw');
    const parts = [
      this.repository.seriesHist(
        { ...filter, from: new Date(from), to: new Date(to) },
        seconds,
        groupBy,
        'rollup',
      ),
    ];
    if (filter.from.getTime() < from) {
      parts.push(this.repository.seriesHist({ ...filter, to: new Date(from) }, seconds, groupBy, 'raw'));
    }
    if (to < filter.to.getTime()) {
      parts.push(this.repository.seriesHist({ ...filter, from: new Date(to) }, seconds, groupBy, 'raw'));
    }
    return (await Promise.all(parts)).flat();
  }

  async records(request: FastifyRequest, q: UsageRecordsQuery) {
    const filter = { ...this.scope(actorOf(request), q), requestId: q.requestId };
    const rows = await this.repository.records(
      filter,
      q.before ? decodeCursor(q.before) : undefined,
      q.limit,
    );
    const last = rows[rows.length - 1];
    return {
      records: rows,
      next: rows.length === q.limit ? encodeCursor(last.startedAt, last.id) : null,
    };
  }

  /** Per team (and per endpoint/model within it) for a period: JSON, or CSV lines of the same facts. */
  async chargeback(request: FastifyRequest, q: ChargebackQuery) {
    const filter = this.scope(actorOf(request), q, true);
    const rows = await this.repository.grouped(filter, ['team', 'endpoint', 'model'], 1_000_000);
    const from = filter.from.toISOString();
    const to = filter.to.toISOString();
    if (q.format === 'csv') {
      let csv = csvLine([
        'period_start',
        'period_end',
        'team_id',
        'team_name',
        'endpoint',
        'provider',
        'model',
        'requests',
        'prompt_tokens',
        'completion_tokens',
        'total_tokens',
        'cost_usd',
        'unpriced_requests',
        'errors',
        'cache_hits',
      ]);
      for (const r of rows) {
        csv += csvLine([
          from,
          to,
          r.teamId,
          r.teamName ?? (r.teamId ? null : '(no team)'),
          r.endpoint,
          r.provider,
          r.model,
          r.requests,
          r.promptTokens,
          r.completionTokens,
          r.totalTokens,
          r.costUsd,
          r.unpricedRequests,
          r.errors,
          r.cacheHits,
        ]);
      }
      const day = (iso: string) => iso.slice(0, 10);
      return {
        csv,
        filename: `chargeback_${day(from)}_${day(new Date(filter.to.getTime() - 1).toISOString())}.csv`,
      };
    }
    const teams = new Map<
      string,
      { teamId: string | null; teamName: string | null; rows: UsageGroupRow[] }
    >();
    for (const r of rows) {
      const id = (r.teamId as string | null) ?? '';
      const entry = teams.get(id) ?? {
        teamId: (r.teamId as string | null) ?? null,
        teamName: (r.teamName as string | null) ?? (r.teamId ? null : '(no team)'),
        rows: [],
      };
      entry.rows.push(r);
      teams.set(id, entry);
    }
    const total = (list: UsageGroupRow[]) => {
      const t = {
        requests: 0,
        promptTokens: 0,
        completionTokens: 0,
        totalTokens: 0,
        costUsd: 0,
        unpricedRequests: 0,
        errors: 0,
        cacheHits: 0,
      };
      // Cost is summed exactly, in units of 1e-10 USD (the ledger's scale), from PostgreSQL's decimals.
      let units = 0n;
      for (const r of list) {
        t.requests += r.requests;
        t.promptTokens += r.promptTokens;
        t.completionTokens += r.completionTokens;
        t.totalTokens += r.totalTokens;
        t.unpricedRequests += r.unpricedRequests;
        t.errors += r.errors;
        t.cacheHits += r.cacheHits;
        units += decimalUnits(r.costUsd);
      }
      t.costUsd = Number(units) / 1e10;
      return t;
    };
    return {
      json: {
        period: { from, to },
        currency: 'USD',
        teams: [...teams.values()].map((team) => ({
          teamId: team.teamId,
          teamName: team.teamName,
          ...total(team.rows),
          lines: team.rows.map((r) => ({
            endpoint: r.endpoint,
            provider: r.provider,
            model: r.model,
            requests: r.requests,
            promptTokens: r.promptTokens,
            completionTokens: r.completionTokens,
            totalTokens: r.totalTokens,
            costUsd: Number(r.costUsd),
            unpricedRequests: r.unpricedRequests,
            errors: r.errors,
            cacheHits: r.cacheHits,
          })),
        })),
        totals: total(rows),
      },
    };
  }

  ledgerStatus(): LedgerStatus {
    return this.recorder.status();
  }

  /** Parses the period and pins the team for callers who may only see their own. */
  private scope(
    actor: Principal,
    q: Omit<UsageRecordsQuery, 'limit' | 'before' | 'requestId'>,
    wholeMonthDefault = false,
  ): UsageFilter {
    const { from, to } = period(q.from, q.to, wholeMonthDefault);
    const filter: UsageFilter = {
      from,
      to,
      team: q.teamId,
      key: q.apiKeyId,
      principal: q.principalId,
      endpoint: q.endpoint,
      model: q.model,
      provider: q.provider,
      outcome: q.outcome,
      status: q.status,
    };
    if (actor.permissions.has('billing.admin')) return filter;
    if (actor.teamId) {
      if (q.teamId !== undefined && q.teamId !== actor.teamId) throw BillingErrors.otherTeam();
      filter.team = actor.teamId;
    } else {
      if (q.teamId !== undefined) throw BillingErrors.otherTeam();
      if (q.principalId !== undefined && q.principalId !== actor.id) throw BillingErrors.otherTeam();
      filter.principal = actor.id;
    }
    return filter;
  }
}

function group(row: UsageGroupRow) {
  const keys: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (!SUM_KEYS.has(k)) keys[k] = v;
  return { ...keys, ...sums(row) };
}

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(3000, 0, 1);

/**
 * `from` defaults to the start of the current UTC month (chargeback) or 30 days before `to` (usage);
 * `to` defaults to now (usage) or the start of the next month (chargeback). A date-only `to` includes
 * that whole day.
 */
function period(
  fromText: string | undefined,
  toText: string | undefined,
  wholeMonth: boolean,
): { from: Date; to: Date } {
  const now = new Date();
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  const to = toText
    ? DATE_ONLY.test(toText)
      ? Date.parse(`${toText}T00:00:00Z`) + DAY_MS
      : Date.parse(toText)
    : wholeMonth
      ? nextMonth
      : now.getTime() + 1;
  const from = fromText
    ? Date.parse(DATE_ONLY.test(fromText) ? `${fromText}T00:00:00Z` : fromText)
    : wholeMonth
      ? monthStart
      : to - 30 * DAY_MS;
  if (!Number.isFinite(from) || !Number.isFinite(to)) {
    throw BillingErrors.badPeriod('`from` and `to` must be valid dates.');
  }
  if (from < EARLIEST || to > LATEST) {
    // Beyond these, dates leave what PostgreSQL and ISO strings share (year 10000 is `+010000-…`).
    throw BillingErrors.badPeriod('`from` and `to` must lie between 1970-01-01 and 2999-12-31.');
  }
  if (from >= to) throw BillingErrors.badPeriod('`from` must be before `to`.');
  return { from: new Date(from), to: new Date(to) };
}

/** `"12.3400000000"` → 123400000000n (exact, 10 decimals). */
function decimalUnits(value: string): bigint {
  const [whole, fraction = ''] = value.split('.');
  return BigInt(whole || '0') * 10_000_000_000n + BigInt((fraction + '0000000000').slice(0, 10));
}

function encodeCursor(startedAt: string, id: string): string {
  return Buffer.from(`${startedAt}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { startedAt: string; id: string } {
  const [startedAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (
    !startedAt ||
    // Only what encodeCursor writes (an ISO instant PostgreSQL reads), never a free-form date.
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(startedAt) ||
    !Number.isFinite(Date.parse(startedAt)) ||
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id ?? '')
  ) {
    throw BillingErrors.badCursor();
  }
  return { startedAt, id };
}
