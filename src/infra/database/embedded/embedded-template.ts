import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MIGRATIONS } from 'src/infra/database/migrations';

/**
 * A PGlite data directory initialised and migrated when the project is built (`npm run build` →
 * scripts/build-embedded-template.mjs), under dist/embedded/. PGlite's initdb runs a second WebAssembly
 * instance and takes several seconds on a small machine, and the migrations grow the database's memory
 * for good; a first start on an empty DATA_DIR copies this directory instead and starts as fast, and as
 * small, as a restart. (A copy, not PGlite's `loadDataDir`: that unpacks a tarball inside WebAssembly
 * and kept ~120 MB more resident.) Without the file (a checkout that was not built, as under
 * jest) PGlite runs initdb and the migrations run as before. The name carries the PGlite version and a
 * fingerprint of the migrations, so a template of another version or schema is never used (and the
 * migrations still run after unpacking, so a template could only ever save work, not skip it).
 */
export function embeddedTemplateDir(root: string = packageRoot()): string {
  const schema = createHash('sha256')
    .update(MIGRATIONS.map((migration) => migration.name).join('\n'))
    .digest('hex')
    .slice(0, 12);
  return join(root, 'dist', 'embedded', `pglite-${pgliteVersion()}-${schema}`);
}

/** The template's directory when one was built for the installed PGlite and migrations, else undefined. */
export function findEmbeddedTemplate(): string | undefined {
  // Only the built gateway uses the build's template: under jest (sources compiled in memory) a start
  // on an empty directory always runs initdb and every migration, whether or not a build happened.
  const root = packageRoot();
  if (!__dirname.startsWith(join(root, 'dist'))) return undefined;
  const dir = embeddedTemplateDir(root);
  return existsSync(join(dir, 'PG_VERSION')) ? dir : undefined;
}

function pgliteVersion(): string {
  const manifest = join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** The directory holding the gateway's package.json, from src/ (jest) or dist/src/ (built). */
function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
