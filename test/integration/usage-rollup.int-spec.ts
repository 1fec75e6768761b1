import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from 'src/infra/database/data-source.factory';
import { MIGRATIONS } from 'src/infra/database/migrations';
import { SERIES_GROUP_BYS, SeriesGroupBy } from 'src/modules/billing/dto/usage-query.dto';
import { UsageLedgerRepository } from 'src/modules/billing/usage-ledger.repository';
import { UsageHistRow, UsageQueryRepository } from 'src/modules/billing/usage-query.repository';
import { histBucket } from 'src/modules/billing/usage-rollup';
import { toUsageRow, UsageRow } from 'src/modules/billing/usage-row';
import { createTestDatabase } from 'test/e2e/support/test-gateway';

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const START = Date.UTC(2026, 10, 2, 10, 17); // 10:17 UTC: the range starts and ends mid-hour
const STATUSES: [number, string][] = [
  [200, 'success'],
  [200, 'cache_hit'],
  [400, 'error'],
  [429, 'error'],
  [502, 'error'],
  [0, 'error'], // no answer at all (connection failed): an "other" error
  [499, 'cancelled'],
];

/** `n` ledger rows over five hours: 3 teams (one null), 3 endpoints, prompt versions, every outcome. */
function traffic(n: number, seed: number): UsageRow[] {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  return Array.from({ length: n }, (_, i) => {
    const [status, outcome] = pick(STATUSES);
    const endpoint = pick(['e1', 'e2', 'e3']);
    const startedAt = START + Math.floor(random() * 5 * 3_600_000);
    // 0.2 ms to ~400 s: both ends of the histogram, and its overflow bucket.
    const latencyMs = Math.round(0.2 * Math.exp(random() * 14.5) * 1000) / 1000;
    return toUsageRow({
      requestId: `req-${seed}-${i}`,
      startedAt,
      startedHr: 0,
      finishedAt: startedAt + latencyMs,
      latencyMs,
      surface: 'openai',
      stream: false,
      attempts: 1,
      team: pick(['team-1', 'team-2', undefined]),
      endpoint,
      provider: endpoint === 'e3' ? 'anthropic' : 'openai',
      model: `${endpoint}-model`,
      promptVersion: pick([undefined, 'greet@1', 'greet@2']),
      cacheHit: outcome === 'cache_hit',
      status,
      outcome: outcome as 'success',
      promptTokens: status === 200 ? 1 + Math.floor(random() * 2000) : undefined,
      completionTokens: status === 200 ? Math.floor(random() * 500) : undefined,
      costUsd: status === 200 && random() < 0.9 ? Math.round(random() * 1e9) / 1e13 : undefined,
    });
  });
}

const byKey = (a: UsageHistRow, b: UsageHistRow) =>
  a.bucket - b.bucket || String(a.group).localeCompare(String(b.group));
/** Comparable form: histograms without trailing zeros; float sums compared apart (summed in any order). */
function normal(rows: UsageHistRow[]) {
  return [...rows].sort(byKey).map((r) => {
    const hist = [...r.hist];
    while (hist.length > 0 && hist[hist.length - 1] === 0) hist.pop();
    return { ...r, costUsd: 0, hist };
  });
}

function expectSame(rolled: UsageHistRow[], raw: UsageHistRow[]): void {
  expect(normal(rolled)).toEqual(normal(raw));
  const a = [...rolled].sort(byKey);
  [...raw].sort(byKey).forEach((r, i) => expect(a[i].costUsd).toBeCloseTo(r.costUsd, 12));
}

describe.each(['postgres', 'embedded'] as const)('hourly usage roll-up (%s)', (kind) => {
  let dataSource: DataSource;
  let ledger: UsageLedgerRepository;
  let queries: UsageQueryRepository;
  let cleanup: () => Promise<void>;
  const first = traffic(600, 1);
  const second = traffic(400, 2);

  beforeAll(async () => {
    if (kind === 'postgres') {
      const database = await createTestDatabase();
      dataSource = new DataSource({ type: 'postgres', url: database.url, migrations: MIGRATIONS });
      await dataSource.initialize();
      await runMigrations(dataSource, false);
      cleanup = async () => {
        await dataSource.destroy();
        await database.drop();
      };
    } else {
      const dir = await mkdtemp(join(tmpdir(), 'gatehouse-rollup-'));
      dataSource = await new DataSource(
        dataSourceOptions({ DATA_DIR: dir, DATABASE_URL: undefined }),
      ).initialize();
      await runMigrations(dataSource, true);
      cleanup = async () => {
        await dataSource.destroy();
        await rm(dir, { recursive: true, force: true });
      };
    }
    ledger = new UsageLedgerRepository(dataSource);
    queries = new UsageQueryRepository(dataSource);
  }, 120_000);

  afterAll(() => cleanup?.());

  const all = () => [...first, ...second];
  const range = { from: new Date(START - 3_600_000), to: new Date(START + 6 * 3_600_000) };

  it('buckets latencies in SQL exactly as the estimator expects', async () => {
    const values = [0, 0.5, 0.999, 1, 1.0905, 1.1, 2, 3.7, 100, 1000, 262_143, 262_144, 1e7];
    const rows: { b: number }[] = await dataSource.query(
      `SELECT usage_latency_bucket(v) - 1 AS b FROM unnest($1::float8[]) WITH ORDINALITY AS t(v, n) ORDER BY n`,
      [values],
    );
    expect(rows.map((r) => Number(r.b))).toEqual(values.map(histBucket));
    expect(histBucket(1e7)).toBe(145);
  });

  it('adds only the rows actually inserted: a replayed or overlapping batch counts once', async () => {
    await ledger.insert(first.slice(0, 300));
    await ledger.insert(first); // half of it again (a retry after a lost answer)
    await ledger.insert(second);
    await ledger.insert(second.slice(100, 200)); // a journal replay of rows already committed
    const [raw] = await dataSource.query(
      `SELECT count(*)::int AS n, sum(cost_usd)::text AS cost, sum(prompt_tokens)::int AS pt FROM usage_records`,
    );
    const [rolled] = await dataSource.query(
      `SELECT sum(requests)::int AS n, sum(cost_usd)::text AS cost, sum(prompt_tokens)::int AS pt,
              sum(client_errors)::int AS c4, sum(server_errors)::int AS c5, sum(other_errors)::int AS other,
              sum(cache_hits)::int AS hits, sum(cancelled)::int AS cancelled
       FROM usage_rollup_hourly`,
    );
    const rows = all();
    const count = (f: (r: UsageRow) => boolean) => rows.filter(f).length;
    expect(raw.n).toBe(1000);
    expect(rolled).toEqual({
      n: 1000,
      cost: raw.cost,
      pt: rows.reduce((a, r) => a + (r.prompt_tokens ?? 0), 0),
      c4: count((r) => r.status >= 400 && r.status < 500),
      c5: count((r) => r.status >= 500),
      other: count((r) => r.outcome === 'error' && r.status === 0),
      hits: count((r) => r.cache_hit),
      cancelled: count((r) => r.outcome === 'cancelled'),
    });
    expect(rolled.other).toBeGreaterThan(0);
  });

  it.each([undefined, ...SERIES_GROUP_BYS] as (SeriesGroupBy | undefined)[])(
    'gives the raw ledger’s figures per hour and per day (group %s)',
    async (group) => {
      for (const seconds of [3_600, 86_400]) {
        const raw = await queries.seriesHist(range, seconds, group, 'raw');
        const rolled = await queries.seriesHist(range, seconds, group, 'rollup');
        expect(raw.reduce((a, r) => a + r.requests, 0)).toBe(1000);
        expectSame(rolled, raw);
      }
    },
  );

  it('applies team, endpoint and outcome filters the same way', async () => {
    const filter = { ...range, team: 'team-1', endpoint: 'e2', outcome: 'error' };
    const raw = await queries.seriesHist(filter, 3_600, 'prompt', 'raw');
    const expected = all().filter(
      (r) => r.team_id === 'team-1' && r.endpoint === 'e2' && r.outcome === 'error',
    );
    expect(raw.reduce((a, r) => a + r.requests, 0)).toBe(expected.length);
    expectSame(await queries.seriesHist(filter, 3_600, 'prompt', 'rollup'), raw);
    const none = { ...range, team: null };
    expectSame(
      await queries.seriesHist(none, 3_600, 'team', 'rollup'),
      await queries.seriesHist(none, 3_600, 'team', 'raw'),
    );
  });

  it('rebuilds the same roll-up from the ledger when the migration runs on existing rows', async () => {
    // Latency sums are floats summed in another order: compared to 6 decimals.
    const snapshot = () =>
      dataSource.query(
        `SELECT *, round(latency_sum_ms::numeric, 6)::text AS latency_sum_ms FROM usage_rollup_hourly
         ORDER BY hour, team_id, endpoint, provider, model, prompt_version, outcome, status_class`,
      );
    const before = await snapshot();
    await dataSource.undoLastMigration({ transaction: 'each' });
    await runMigrations(dataSource, kind === 'embedded');
    expect(await snapshot()).toEqual(before);
    expect(before.length).toBeGreaterThan(50);
  });
});
