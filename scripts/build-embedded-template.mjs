// Builds the embedded database template (see src/infra/database/embedded/embedded-template.ts): a
// PGlite data directory initialised and migrated by the just-compiled gateway, under dist/embedded/.
// Run by `npm run build` after tsc; does nothing when the template for this PGlite version and this set
// of migrations exists.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const { embeddedTemplateDir } = require('../dist/src/infra/database/embedded/embedded-template.js');
const { dataSourceOptions, runMigrations } = require('../dist/src/infra/database/data-source.factory.js');
const { DataSource } = require('typeorm');

const target = embeddedTemplateDir();
if (!existsSync(join(target, 'PG_VERSION'))) {
  const started = Date.now();
  await mkdir(dirname(target), { recursive: true });
  // Built beside the target and renamed into place, so a half-built template is never used.
  const dir = await mkdtemp(`${target}.building-`);
  try {
    const dataSource = new DataSource(dataSourceOptions({ DATA_DIR: dir, DATABASE_URL: undefined }));
    await dataSource.initialize();
    const applied = await runMigrations(dataSource, true);
    await dataSource.destroy();
    await rm(target, { recursive: true, force: true });
    await rename(join(dir, 'pglite'), target);
    console.log(
      `embedded database template: ${target} (${applied.length} migrations, ${Date.now() - started} ms)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
