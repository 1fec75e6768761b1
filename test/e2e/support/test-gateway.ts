import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { createApp } from 'src/bootstrap';
import { loadAppConfig } from 'src/config/env.config';

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

export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `gatehouse_e2e_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
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
      : await createTestDatabase();
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
