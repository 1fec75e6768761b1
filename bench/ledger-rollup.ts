import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from 'src/infra/database/migrations';
import { SeriesGroupBy, SERIES_GROUP_BYS, UsageFilter } from 'src/modules/billing/dto/usage-query.dto';
import { UsageQueryRepository } from 'src/modules/billing/usage-query.repository';
import { fillLedger } from './ledger-fill';

/**
 * The dashboard's queries over the raw usage ledger and over the hourly roll-up, at 100 requests/s.
 * Fills a database of its own on PostgreSQL (PG_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 * one day after another (BENCH_DAYS, default "1,3": measured after 1 day, then after 3) and times, over
 * the whole filled range: the time series by hour and by day (p50/p95), and the hourly series broken down
 * by each group. Drops the database at the end (BENCH_KEEP=1 keeps it). Not run in CI.
 */
const RATE = Number(process.env.BENCH_RATE ?? 100);
const DAYS = (process.env.BENCH_DAYS ?? '1,3').split(',').map(Number);
const ADMIN_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DAY_S = 86_400;

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

async function main(): Promise<void> {
  const name = process.env.BENCH_DB || `gatehouse_bench_${randomBytes(4).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  if (!process.env.BENCH_DB) await admin(`CREATE DATABASE ${name}`);
  const db = new DataSource({ type: 'postgres', url: url.toString(), migrations: MIGRATIONS });
  await db.initialize();
  try {
    await db.runMigrations();
    await db.query(`SET synchronous_commit = off`);
    const repo = new UsageQueryRepository(db);
    // Days end at the last whole UTC hour before now, like a dashboard looking back.
    const end = Math.floor(Date.now() / 3_600_000) * 3_600;
    const [{ n }] = await db.query<{ n: number }[]>(`SELECT count(*)::float8 AS n FROM usage_records`);
    let filled = Math.floor(n / RATE / DAY_S);
    console.log(`database ${name}: ${n} rows already (${filled} days), ${RATE} requests/s`);
    for (const days of DAYS) {
      while (filled < days) {
        const dayStart = end - (filled + 1) * DAY_S;
        const t = performance.now();
        for (let h = 0; h < 24; h++) {
          const start = dayStart + h * 3_600;
          await fillLedger(db, new Date(start * 1000), 3_600, RATE, (filled * 24 + h) * 3_600 * RATE + 1);
        }
        filled++;
        console.log(
          `filled day ${filled}: ${(24 * 3_600 * RATE).toLocaleString('en')} rows in ${((performance.now() - t) / 1000).toFixed(0)} s`,
        );
      }
      await db.query(`VACUUM ANALYZE usage_records`);
      await db.query(`VACUUM ANALYZE usage_rollup_hourly`);
      const [{ rows, rollup }] = await db.query<{ rows: number; rollup: number }[]>(
        `SELECT (SELECT count(*) FROM usage_records)::float8 AS rows,
                (SELECT count(*) FROM usage_rollup_hourly)::float8 AS rollup`,
      );
      const filter: UsageFilter = { from: new Date((end - days * DAY_S) * 1000), to: new Date(end * 1000) };
      console.log(
        `\n${days} day(s): ${rows.toLocaleString('en')} ledger rows, ${rollup.toLocaleString('en')} roll-up rows; ` +
          `load ${loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')}`,
      );
      console.log('query                     raw (ms)  roll-up (ms)  speed-up');
      const cases: [string, number, SeriesGroupBy | undefined][] = [
        ['series by hour', 3_600, undefined],
        ['series by day', DAY_S, undefined],
        ...SERIES_GROUP_BYS.map((g): [string, number, SeriesGroupBy] => [`by hour, per ${g}`, 3_600, g]),
      ];
      for (const [label, seconds, group] of cases) {
        // The raw path as the API ran it before the roll-up (exact percentiles) when there is no group.
        const raw = await timed<{ requests: number }[]>(() =>
          group ? repo.seriesHist(filter, seconds, group, 'raw') : repo.series(filter, seconds),
        );
        const up1 = await timed(() => repo.seriesHist(filter, seconds, group, 'rollup'));
        const up2 = await timed(() => repo.seriesHist(filter, seconds, group, 'rollup'));
        const up = Math.min(up1.ms, up2.ms);
        const sum = (list: { requests: number }[]) => list.reduce((a, r) => a + r.requests, 0);
        if (sum(raw.value) !== sum(up2.value)) throw new Error(`${label}: raw and roll-up disagree`);
        console.log(
          `${label.padEnd(24)} ${raw.ms.toFixed(0).padStart(9)} ${up.toFixed(0).padStart(13)} ${(raw.ms / up).toFixed(0).padStart(8)}x`,
        );
      }
    }
  } finally {
    await db.destroy();
    if (process.env.BENCH_KEEP !== '1') await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    else console.log(`kept database ${name}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
