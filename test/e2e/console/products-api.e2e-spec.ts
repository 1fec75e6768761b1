import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bearer, call } from 'test/e2e/support/admin-client';
import { member } from 'test/e2e/security/support';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { UsageRecorder } from 'src/modules/billing/usage-recorder.service';

/** API products over the admin API: lifecycle rules, ownership, catalogue visibility, per-product OpenAPI. */
const MASTER_KEY = randomBytes(32).toString('base64');

describe('API products (admin API)', () => {
  let gateway: TestGateway;
  let mock: OpenAIMock;
  let admin: Record<string, string>;

  const entry = (name: string, teamId?: string) => ({
    name,
    endpoint_type: 'llm/v1/chat',
    ...(teamId ? { teamId } : {}),
    model: {
      provider: 'openai',
      name: 'gpt-4o-mini',
      config: { openai_api_key: '$secret:mock-openai', openai_api_base: `${mock.url}/v1` },
    },
  });
  const product = (name: string, endpoint: string, extra: Record<string, unknown> = {}) => ({
    name,
    title: `Product ${name}`,
    endpoint,
    ...extra,
  });

  beforeAll(async () => {
    mock = await startOpenAIMock();
    gateway = await startGateway('endpoints: []\n', {
      env: { GATEHOUSE_MASTER_KEY: MASTER_KEY, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal' },
    });
    admin = gateway.authHeaders();
    expect(
      (await call(gateway.url, 'PUT', '/admin/v1/secrets/mock-openai', admin, { value: MOCK_API_KEY }))
        .status,
    ).toBe(200);
    for (const name of ['ep-a', 'ep-b']) {
      expect((await call(gateway.url, 'POST', '/admin/v1/endpoints', admin, entry(name))).status).toBe(201);
    }
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('moves through draft → published → deprecated → retired and refuses other moves', async () => {
    const created = await call(
      gateway.url,
      'POST',
      '/admin/v1/products',
      admin,
      product('prod-a', 'ep-a', { pricePer1kTokensUsd: 0.25 }),
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'prod-a',
      state: 'draft',
      revision: 1,
      endpointType: 'llm/v1/chat',
      pricePer1kTokensUsd: 0.25,
    });

    const move = (action: string, body?: unknown) =>
      call(gateway.url, 'POST', `/admin/v1/products/prod-a/${action}`, admin, body);
    expect((await move('retire')).status).toBe(409);
    expect((await move('deprecate', { sunset: '2001-01-01' })).status).toBe(400);
    const published = await move('publish');
    expect([published.status, published.body.state, published.body.revision]).toEqual([200, 'published', 2]);
    expect((await move('publish')).status).toBe(409);
    const sunset = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const deprecated = await move('deprecate', { sunset, note: 'use prod-b' });
    expect(deprecated.body).toMatchObject({
      state: 'deprecated',
      sunsetAt: sunset,
      deprecationNote: 'use prod-b',
      revision: 3,
    });
    const republished = await move('publish');
    expect(republished.body).toMatchObject({ state: 'published', sunsetAt: null, revision: 4 });
    expect((await move('retire')).body).toMatchObject({ state: 'retired', revision: 5 });
    expect((await move('publish')).status).toBe(409);
    // Another product may offer the endpoint once the first is retired, not before.
    expect(
      (await call(gateway.url, 'POST', '/admin/v1/products', admin, product('prod-a2', 'ep-a'))).status,
    ).toBe(201);
    expect(
      (await call(gateway.url, 'POST', '/admin/v1/products', admin, product('prod-a3', 'ep-a'))).status,
    ).toBe(409);
    expect(
      (await call(gateway.url, 'POST', '/admin/v1/products', admin, product('prod-a', 'ep-b'))).status,
    ).toBe(409);
    expect(
      (await call(gateway.url, 'POST', '/admin/v1/products', admin, product('prod-x', 'no-such'))).status,
    ).toBe(400);
  });

  it('shows drafts to their owners only and published products to everyone; checks ownership', async () => {
    const teamA = await member(gateway, 'team-a', ['operator']);
    const teamB = await member(gateway, 'team-b', ['developer']);
    const viaA = await call(
      gateway.url,
      'POST',
      '/admin/v1/products',
      bearer(teamA.key),
      product('prod-b', 'ep-b'),
    );
    expect([viaA.status, viaA.body.teamId]).toEqual([201, teamA.teamId]);

    const catalogueOf = async (key: string) =>
      ((await call(gateway.url, 'GET', '/admin/v1/catalogue', bearer(key))).body as { name: string }[]).map(
        (p) => p.name,
      );
    expect(await catalogueOf(teamA.key)).toContain('prod-b');
    expect(await catalogueOf(teamB.key)).not.toContain('prod-b');
    expect((await call(gateway.url, 'GET', '/admin/v1/catalogue/prod-b', bearer(teamB.key))).status).toBe(
      404,
    );
    expect(
      (await call(gateway.url, 'POST', '/admin/v1/catalogue/prod-b/subscriptions', bearer(teamB.key), {}))
        .status,
    ).toBe(404);

    expect(
      (await call(gateway.url, 'POST', '/admin/v1/products/prod-b/publish', bearer(teamA.key))).status,
    ).toBe(200);
    expect(await catalogueOf(teamB.key)).toContain('prod-b');
    // A global product (created by the admin) can be changed by an admin only.
    expect(
      (await call(gateway.url, 'POST', '/admin/v1/products/prod-a2/publish', bearer(teamA.key))).status,
    ).toBe(403);

    const doc = await call(gateway.url, 'GET', '/admin/v1/catalogue/prod-b/openapi.json', bearer(teamB.key));
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths).sort()).toEqual([
      '/endpoints/ep-b/invocations',
      '/v1/chat/completions',
    ]);
    expect(
      doc.body.paths['/v1/chat/completions'].post.requestBody.content['application/json'].schema.properties
        .model.enum,
    ).toEqual(['ep-b']);

    const sub = await call(
      gateway.url,
      'POST',
      '/admin/v1/catalogue/prod-b/subscriptions',
      bearer(teamB.key),
      { reason: 'demo' },
    );
    expect([sub.status, sub.body.status, sub.body.endpointPattern]).toEqual([201, 'pending', 'ep-b']);
    const mine = await call(gateway.url, 'GET', '/admin/v1/subscriptions', bearer(teamB.key));
    if (!Array.isArray(mine.body)) throw new Error(JSON.stringify([mine.status, mine.body]));
    expect(mine.body.map((s: { id: string; principalId: string }) => [s.id, s.principalId])).toEqual([
      [sub.body.id, teamB.principalId],
    ]);
  });

  it('answers the dashboard time series per bucket, scoped to the caller', async () => {
    const grant = await call(gateway.url, 'POST', '/admin/v1/grants', admin, {
      teamId: (await member(gateway, 'team-a', ['operator'])).teamId,
      endpointPattern: 'ep-b',
    });
    expect(grant.status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...admin },
        body: JSON.stringify({ model: 'ep-b', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(r.status).toBe(200);
    }
    await gateway.app.get(UsageRecorder).flush();
    const to = new Date(Date.now() + 60_000);
    const from = new Date(to.getTime() - 3_600_000);
    const q = `from=${from.toISOString()}&to=${to.toISOString()}&bucket=minute`;
    const series = await call(gateway.url, 'GET', `/admin/v1/usage/timeseries?${q}`, admin);
    expect(series.status).toBe(200);
    expect(series.body.points).toHaveLength(61);
    expect(series.body.points.reduce((a: number, p: { requests: number }) => a + p.requests, 0)).toBe(2);
    const busy = series.body.points.filter((p: { requests: number }) => p.requests > 0);
    for (const p of busy) {
      expect(p.bucket % 60).toBe(0);
      expect(p.p95LatencyMs).toBeGreaterThanOrEqual(p.p50LatencyMs);
    }
    // A team-b developer sees its own team's usage only: none of the admin's calls.
    const teamB = await member(gateway, 'team-b', ['developer']);
    const own = await call(gateway.url, 'GET', `/admin/v1/usage/timeseries?${q}`, bearer(teamB.key));
    expect(own.body.points.reduce((a: number, p: { requests: number }) => a + p.requests, 0)).toBe(0);
    const tooMany = await call(
      gateway.url,
      'GET',
      `/admin/v1/usage/timeseries?from=2020-01-01&to=2026-01-01&bucket=minute`,
      admin,
    );
    expect(tooMany.status).toBe(400);
  });

  it("keeps the console's typed client in step with the OpenAPI document (npm run web:api)", async () => {
    const root = resolve(__dirname, '..', '..', '..');
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-api-types-'));
    try {
      const spec = await (await fetch(`${gateway.url}/openapi.json`)).text();
      await writeFile(join(dir, 'openapi.json'), spec);
      await new Promise<void>((done, fail) =>
        execFile(
          process.execPath,
          [
            join(root, 'node_modules/openapi-typescript/bin/cli.js'),
            join(dir, 'openapi.json'),
            '-o',
            join(dir, 'schema.d.ts'),
          ],
          { cwd: root, timeout: 120_000 },
          (error, _stdout, stderr) => (error ? fail(new Error(stderr)) : done()),
        ),
      );
      const fresh = await readFile(join(dir, 'schema.d.ts'), 'utf8');
      const committed = await readFile(join(root, 'web/src/api/schema.d.ts'), 'utf8');
      // Equal, or the admin API changed without `npm run web:api`.
      expect(fresh === committed).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
