import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AppConfig } from 'src/config/env.config';
import { MIGRATIONS } from 'src/infra/database/migrations';
import {
  embeddedPgDriver,
  EmbeddedPoolOptions,
  prestartEmbedded,
} from 'src/infra/database/embedded/embedded-pool';

/**
 * PostgreSQL when DATABASE_URL is set, else embedded PGlite under DATA_DIR: same migrations on both. No
 * entities here: each feature module registers its own (`TypeOrmModule.forFeature`), and the app's data
 * source loads them (`autoLoadEntities`), so the database layer depends on no feature module.
 */
export function dataSourceOptions(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DATA_DIR'> & Partial<Pick<AppConfig, 'EMBEDDED_SHARED_BUFFERS'>>,
): DataSourceOptions {
  const common = {
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    logging: false,
  } as const;
  if (config.DATABASE_URL) {
    return {
      type: 'postgres',
      url: config.DATABASE_URL,
      extra: { max: 10, connectionTimeoutMillis: 5000 },
      ...common,
    };
  }
  // PGlite runs in a worker thread owned by this DataSource (see embedded-pool.ts).
  return { type: 'postgres', driver: embeddedPgDriver(embeddedPoolOptions(config)), ...common };
}

type EmbeddedSettings = Pick<AppConfig, 'DATA_DIR'> & Partial<Pick<AppConfig, 'EMBEDDED_SHARED_BUFFERS'>>;

function embeddedPoolOptions(config: EmbeddedSettings): EmbeddedPoolOptions {
  const dataDir = resolve(join(config.DATA_DIR, 'pglite'));
  mkdirSync(dataDir, { recursive: true });
  return { dataDir, sharedBuffers: config.EMBEDDED_SHARED_BUFFERS };
}

/**
 * Starts the embedded database (when there is no DATABASE_URL) ahead of the application, so PGlite's
 * start-up overlaps the loading of the application's modules; the DataSource created later takes it.
 */
export function prestartEmbeddedDatabase(config: Pick<AppConfig, 'DATABASE_URL'> & EmbeddedSettings): void {
  if (!config.DATABASE_URL) prestartEmbedded(embeddedPoolOptions(config));
}

export function isEmbedded(config: Pick<AppConfig, 'DATABASE_URL'>): boolean {
  return !config.DATABASE_URL;
}

/** Arbitrary constant shared by every replica: "gatehouse migrations". */
const MIGRATION_LOCK_KEY = 7_402_118_311;

/**
 * Applies pending migrations while holding a session-level advisory lock, so replicas starting
 * together run them once. Embedded PGlite is single-process and has one session, so no lock is needed.
 */
export async function runMigrations(dataSource: DataSource, embedded: boolean): Promise<string[]> {
  if (embedded) return (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}
