import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadAppConfig } from 'src/config/env.config';
import { dataSourceOptions, isEmbedded, runMigrations } from 'src/infra/database/data-source.factory';

/** `npm run migration:run`: applies pending migrations under the same advisory lock as boot. */
async function main(): Promise<void> {
  const config = loadAppConfig();
  const dataSource = await new DataSource(dataSourceOptions(config)).initialize();
  try {
    const applied = await runMigrations(dataSource, isEmbedded(config));
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
