import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from 'src/bootstrap';
import { loadAppConfig } from 'src/config/env.config';

/**
 * Writes the gateway's OpenAPI document (what /openapi.json serves) to the file named by the last
 * argument, from an application booted on an embedded database in a temporary directory.
 * `npm run web:api` turns it into the console's typed client (web/src/api/schema.d.ts).
 */
async function main(): Promise<void> {
  const out = process.argv[process.argv.length - 1];
  if (!out.endsWith('.json')) throw new Error('usage: openapi-dump <output.json>');
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-openapi-'));
  try {
    const configPath = join(dir, 'gateway.yaml');
    await writeFile(configPath, 'endpoints: []\n');
    const app = await createApp(
      loadAppConfig({
        GATEWAY_CONFIG: configPath,
        DATA_DIR: join(dir, 'data'),
        LOG_LEVEL: 'fatal',
        // Any key: only to keep the first-run admin banner out of the way.
        GATEHOUSE_ADMIN_API_KEY: `gh_openapi_${'0'.repeat(40)}`,
      }),
    );
    await app.init();
    const response = await app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/openapi.json' });
    await writeFile(out, `${JSON.stringify(JSON.parse(response.body), null, 2)}\n`);
    await app.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`openapi-dump: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
