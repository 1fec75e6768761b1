import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createApp } from 'src/bootstrap';
import { loadAppConfig } from 'src/config/env.config';
import { dataSourceOptions, runMigrations } from 'src/infra/database/data-source.factory';

/** The PostgreSQL running on this machine (trust auth). Each gateway gets its own database. */
export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://root@127.0.0.1:5432/postgres';

export interface TestGateway {
  url: string;
  app: NestFastifyApplication;
  configPath: string;
  databaseUrl: string | undefined;
  /**
   * An admin API key the gateway is booted with (GATEHOUSE_ADMIN_API_KEY). Tests send it on every
   * call (`authHeaders()`, or as the openai SDK's apiKey) so they keep working under default-deny auth.
   */
  apiKey: string;
  /** `{ authorization: 'Bearer <apiKey>' }`, to spread into request headers. */
  authHeaders(): Record<string, string>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Use embedded PGlite (under a temp DATA_DIR) instead of a fresh PostgreSQL database. */
  embedded?: boolean;
  /** Share this existing database (another replica's) instead of creating one; it is not dropped on close. */
  databaseUrl?: string;
  /**
   * Boot on an empty database, so the gateway's boot runs every migration itself. By default a new
   * database is a copy of one the migrations already ran in (see `createTestDatabase`).
   */
  emptyDatabase?: boolean;
  env?: Record<string, string>;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function databaseUrl(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const TEMPLATE_PREFIX = 'gatehouse_tpl_';

/** A hash of the migration sources: a template built from other migrations is never used. */
async function migrationsHash(): Promise<string> {
  const hash = createHash('sha256');
  const files = [
    'src/infra/database/migrations.ts',
    ...(await readdir(join(REPO_ROOT, 'migrations'))).sort().map((file) => `migrations/${file}`),
  ];
  for (const file of files) hash.update(file).update(await readFile(join(REPO_ROOT, file)));
  return hash.digest('hex').slice(0, 12);
}

/**
 * The name of a database in which every migration of this checkout ran (schema only: the migrations
 * insert no rows), built once per test process (named by its pid, so runs on the same server never share
 * or drop each other's) by the gateway's own `runMigrations`. Gateways under test boot on copies of it
 * (CREATE DATABASE … TEMPLATE: ~0.1 s where the migrations take ~1 s per boot); their boot still runs the
 * migration step and finds nothing pending. Jest's globalTeardown (test/setup/drop-template-databases.js)
 * drops this process's template and any left by processes that have ended.
 */
async function migratedTemplate(): Promise<string> {
  const name = `${TEMPLATE_PREFIX}${process.pid}_${await migrationsHash()}`;
  const client = new Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount) return name;
    // Built under another name and renamed when complete: a template is never seen half-migrated.
    const building = `gatehouse_e2e_${randomBytes(6).toString('hex')}`;
    await client.query(`CREATE DATABASE ${building}`);
    try {
      const dataSource = await new DataSource(
        dataSourceOptions({ DATABASE_URL: databaseUrl(building), DATA_DIR: tmpdir() }),
      ).initialize();
      try {
        await runMigrations(dataSource, false);
      } finally {
        await dataSource.destroy();
      }
      await client.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    } catch (error) {
      await client.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      throw error;
    }
    return name;
  } finally {
    await client.end();
  }
}

/**
 * A database of its own on the machine's PostgreSQL, dropped by `drop()`: empty, or with `migrated`
 * a copy of a database the migrations already ran in (what a gateway's boot would make of an empty one).
 */
export async function createTestDatabase(
  options: { migrated?: boolean } = {},
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `gatehouse_e2e_${randomBytes(6).toString('hex')}`;
  await adminQuery(
    options.migrated
      ? `CREATE DATABASE ${name} TEMPLATE ${await migratedTemplate()}`
      : `CREATE DATABASE ${name}`,
  );
  return { url: databaseUrl(name), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Boots the real AppModule on a random loopback port with the given gateway.yaml. */
export async function startGateway(yaml: string, options: StartOptions = {}): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-'));
  const configPath = join(dir, 'gateway.yaml');
  await writeFile(configPath, yaml);
  const database = options.embedded
    ? undefined
    : options.databaseUrl
      ? { url: options.databaseUrl, drop: async () => undefined }
      : await createTestDatabase({ migrated: !options.emptyDatabase });
  const apiKey = `gh_test_${randomBytes(24).toString('hex')}`;
  const config = loadAppConfig({
    GATEHOUSE_ADMIN_API_KEY: apiKey,
    GATEWAY_CONFIG: configPath,
    DATA_DIR: join(dir, 'data'),
    LOG_LEVEL: 'fatal',
    // Admin-API endpoints of the tests point at loopback mocks: allow loopback explicitly (any port).
    UPSTREAM_ALLOWED_HOSTS: '127.0.0.1',
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...options.env,
  });
  let app: NestFastifyApplication | undefined;
  try {
    // Log lines through process.stdout (not pino's fd writer), so that a test can capture them.
    app = await createApp(config, { logDestination: process.stdout });
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await app?.close().catch(() => undefined);
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const started = app;
  const { port } = started.getHttpServer().address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app: started,
    configPath,
    databaseUrl: database?.url,
    apiKey,
    authHeaders: () => ({ authorization: `Bearer ${apiKey}` }),
    close: async () => {
      await started.close();
      await database?.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A gateway.yaml endpoint block for an OpenAI-wire upstream. */
export function openaiEndpoint(
  name: string,
  model: string,
  apiBase: string,
  type = 'llm/v1/chat',
  extra = '',
): string {
  return `
  - name: ${name}
    endpoint_type: ${type}
    model:
      provider: openai
      name: ${model}
      config:
        openai_api_key: $MOCK_OPENAI_KEY
        openai_api_base: ${apiBase}/v1
${extra}`;
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
