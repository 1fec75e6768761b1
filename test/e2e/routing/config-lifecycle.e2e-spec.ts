import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { bearer, call, chatBody } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';

jest.setTimeout(120_000);

function apiEndpoint(name: string, model: string, mockUrl: string): Record<string, unknown> {
  return {
    name,
    endpoint_type: 'llm/v1/chat',
    model: {
      provider: 'openai',
      name: model,
      config: { openai_api_key: '$secret:mock-openai', openai_api_base: `${mockUrl}/v1` },
    },
  };
}

function split(name: string, weights: Record<string, number>): Record<string, unknown> {
  return {
    name,
    task_type: 'llm/v1/chat',
    destinations: Object.entries(weights).map(([endpoint, pct]) => ({
      name: endpoint,
      traffic_percentage: pct,
    })),
  };
}

describe('config lifecycle: endpoints and routes through the admin API', () => {
  let mock: OpenAIMock;
  let gw: TestGateway;
  const admin = () => gw.authHeaders();

  /** Sends `n` chat requests to `model` and counts the upstream models the mock saw for them. */
  async function traffic(model: string, n: number): Promise<Record<string, number>> {
    const before = mock.requests.length;
    for (let i = 0; i < n; i++) {
      const r = await call(gw.url, 'POST', '/v1/chat/completions', admin(), chatBody(model));
      expect(r.status).toBe(200);
    }
    const counts: Record<string, number> = {};
    for (const request of mock.requests.slice(before)) {
      const upstream = String(request.body.model);
      counts[upstream] = (counts[upstream] ?? 0) + 1;
    }
    return counts;
  }

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gw = await startGateway(`endpoints:\n${openaiEndpoint('file-chat', 'gpt-file', mock.url)}`, {
      env: { GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64') },
    });
    // Admin-API entries reference the provider key as a stored secret (never an environment variable).
    const secret = await call(gw.url, 'PUT', '/admin/v1/secrets/mock-openai', admin(), {
      value: MOCK_API_KEY,
    });
    expect(secret.status).toBe(200);
  });

  afterAll(async () => {
    await gw?.close();
    await mock?.close();
  });

  it('lists file entries as read-only and refuses to change them through the API (409)', async () => {
    const list = await call(gw.url, 'GET', '/admin/v1/endpoints', admin());
    expect(list.status).toBe(200);
    expect(list.body).toEqual([
      expect.objectContaining({ name: 'file-chat', source: 'file', revision: null }),
    ]);
    // The file's `$MOCK_OPENAI_KEY` reference is shown as written; nothing is resolved in a response.
    expect(list.body[0].entry.model.config.openai_api_key).toBe('$MOCK_OPENAI_KEY');
    const put = await call(
      gw.url,
      'PUT',
      '/admin/v1/endpoints/file-chat',
      admin(),
      apiEndpoint('file-chat', 'gpt-x', mock.url),
    );
    expect(put.status).toBe(409);
    expect(put.body.message).toContain('managed by the gateway config file');
    expect((await call(gw.url, 'DELETE', '/admin/v1/endpoints/file-chat', admin())).status).toBe(409);
    const post = await call(
      gw.url,
      'POST',
      '/admin/v1/endpoints',
      admin(),
      apiEndpoint('file-chat', 'gpt-x', mock.url),
    );
    expect(post.status).toBe(409);
    expect(await traffic('file-chat', 2)).toEqual({ 'gpt-file': 2 });
  });

  it('creates, validates (every problem listed), dry-runs and deletes API-managed endpoints', async () => {
    const created = await call(
      gw.url,
      'POST',
      '/admin/v1/endpoints',
      admin(),
      apiEndpoint('api-a', 'gpt-a', mock.url),
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      dry_run: false,
      name: 'api-a',
      action: 'create',
      revision: 1,
      before: null,
    });
    expect(await traffic('api-a', 3)).toEqual({ 'gpt-a': 3 });
    expect((await call(gw.url, 'GET', '/admin/v1/endpoints/api-a', admin())).body).toMatchObject({
      source: 'api',
      revision: 1,
      updated_by: 'bootstrap-admin',
      entry: apiEndpoint('api-a', 'gpt-a', mock.url),
    });

    const again = await call(
      gw.url,
      'POST',
      '/admin/v1/endpoints',
      admin(),
      apiEndpoint('api-a', 'gpt-a', mock.url),
    );
    expect(again.status).toBe(409);

    const bad = await call(gw.url, 'POST', '/admin/v1/endpoints', admin(), {
      name: 'broken',
      model: { provider: 'nope', name: 'x', config: {} },
      gatehouse: { timeout_ms: -1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_request');
    expect(bad.body.message).toContain("The provider 'nope' is not supported.");
    expect(bad.body.message).toContain('endpoint_type');
    expect(bad.body.message).not.toMatch(/at .*\.ts:\d+/);

    const literal = await call(gw.url, 'POST', '/admin/v1/endpoints', admin(), {
      ...apiEndpoint('leaky', 'gpt-a', mock.url),
      model: { provider: 'openai', name: 'gpt-a', config: { openai_api_key: 'sk-live-123456' } },
    });
    expect(literal.status).toBe(400);
    expect(literal.body.message).toContain('must be a reference');
    expect(literal.body.message).not.toContain('sk-live-123456');

    const unsetVar = await call(gw.url, 'POST', '/admin/v1/endpoints', admin(), {
      ...apiEndpoint('unset', 'gpt-a', mock.url),
      model: { provider: 'openai', name: 'gpt-a', config: { openai_api_key: '$NOT_SET_ANYWHERE_123' } },
    });
    expect(unsetVar.status).toBe(400);
    expect(unsetVar.body.message).toContain('cannot read environment variables');

    // Dry runs validate without applying.
    const dry = await call(
      gw.url,
      'PUT',
      '/admin/v1/endpoints/api-a?dry_run=true',
      admin(),
      apiEndpoint('api-a', 'gpt-b', mock.url),
    );
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dry_run: true, action: 'update', revision: null });
    expect(dry.body.after.model.name).toBe('gpt-b');
    const dryBad = await call(gw.url, 'PUT', '/admin/v1/endpoints/api-a?dry_run=true', admin(), {
      ...apiEndpoint('api-a', 'gpt-b', mock.url),
      endpoint_type: 'llm/v9/nope',
    });
    expect(dryBad.status).toBe(400);
    expect(await traffic('api-a', 2)).toEqual({ 'gpt-a': 2 });
    expect(
      (await call(gw.url, 'GET', '/admin/v1/endpoints/api-a/revisions', admin())).body.revisions,
    ).toHaveLength(1);

    // Bad inputs: clear 4xx, never 5xx.
    expect(
      (
        await call(
          gw.url,
          'PUT',
          '/admin/v1/endpoints/api-a?dry_run=maybe',
          admin(),
          apiEndpoint('api-a', 'gpt-b', mock.url),
        )
      ).status,
    ).toBe(400);
    expect((await call(gw.url, 'PUT', '/admin/v1/endpoints/api-a', admin(), [1, 2])).status).toBe(400);
    expect(
      (
        await call(
          gw.url,
          'PUT',
          '/admin/v1/endpoints/api-a',
          admin(),
          apiEndpoint('other', 'gpt-b', mock.url),
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await call(
          gw.url,
          'PUT',
          '/admin/v1/endpoints/bad%20name',
          admin(),
          apiEndpoint('x', 'gpt-b', mock.url),
        )
      ).status,
    ).toBe(400);
    expect((await call(gw.url, 'DELETE', '/admin/v1/endpoints/missing', admin())).status).toBe(404);
    expect((await call(gw.url, 'GET', '/admin/v1/endpoints/missing', admin())).status).toBe(404);

    const temp = await call(
      gw.url,
      'POST',
      '/admin/v1/endpoints',
      admin(),
      apiEndpoint('temp', 'gpt-t', mock.url),
    );
    expect(temp.status).toBe(201);
    const deleted = await call(gw.url, 'DELETE', '/admin/v1/endpoints/temp', admin());
    expect(deleted.body).toMatchObject({ action: 'delete', revision: 2, after: null });
    expect((await call(gw.url, 'POST', '/v1/chat/completions', admin(), chatBody('temp'))).status).toBe(404);
  });

  it('routes over file and API endpoints; an endpoint a route uses cannot be deleted', async () => {
    const route = await call(
      gw.url,
      'POST',
      '/admin/v1/routes',
      admin(),
      split('ab', { 'api-a': 100, 'file-chat': 0 }),
    );
    expect(route.status).toBe(201);
    expect(await traffic('ab', 4)).toEqual({ 'gpt-a': 4 });
    const blocked = await call(gw.url, 'DELETE', '/admin/v1/endpoints/api-a', admin());
    expect(blocked.status).toBe(400);
    expect(blocked.body.message).toContain("invalid destination name 'api-a'");
    const badSum = await call(
      gw.url,
      'PUT',
      '/admin/v1/routes/ab',
      admin(),
      split('ab', { 'api-a': 60, 'file-chat': 60 }),
    );
    expect(badSum.status).toBe(400);
    expect(badSum.body.message).toContain('traffic percentage sum');
    const routes = await call(gw.url, 'GET', '/admin/v1/routes', admin());
    expect(routes.body.map((r: { name: string }) => r.name)).toEqual(['ab']);
  });

  it('keeps numbered revisions, and rollback restores the exact previous behaviour (as a new revision)', async () => {
    const v2 = await call(
      gw.url,
      'PUT',
      '/admin/v1/endpoints/api-a',
      admin(),
      apiEndpoint('api-a', 'gpt-b', mock.url),
    );
    expect(v2.body).toMatchObject({ action: 'update', revision: 2 });
    expect(await traffic('api-a', 3)).toEqual({ 'gpt-b': 3 });

    const w2 = await call(
      gw.url,
      'PUT',
      '/admin/v1/routes/ab',
      admin(),
      split('ab', { 'api-a': 0, 'file-chat': 100 }),
    );
    expect(w2.body.revision).toBe(2);
    expect(await traffic('ab', 5)).toEqual({ 'gpt-file': 5 });

    const history = await call(gw.url, 'GET', '/admin/v1/endpoints/api-a/revisions', admin());
    expect(history.status).toBe(200);
    expect(history.body).toMatchObject({ source: 'api', current_revision: 2 });
    expect(
      history.body.revisions.map((r: { revision: number; action: string }) => [r.revision, r.action]),
    ).toEqual([
      [2, 'update'],
      [1, 'create'],
    ]);
    expect(history.body.revisions[0]).toMatchObject({
      actor: { name: 'bootstrap-admin' },
      before: { model: { name: 'gpt-a' } },
      after: { model: { name: 'gpt-b' } },
    });

    const dry = await call(gw.url, 'POST', '/admin/v1/endpoints/api-a/rollback?dry_run=true', admin(), {
      revision: 1,
    });
    expect(dry.body).toMatchObject({ dry_run: true, action: 'rollback', revision: null });
    expect(await traffic('api-a', 1)).toEqual({ 'gpt-b': 1 });

    const rolled = await call(gw.url, 'POST', '/admin/v1/endpoints/api-a/rollback', admin(), { revision: 1 });
    expect(rolled.status).toBe(200);
    expect(rolled.body).toMatchObject({
      action: 'rollback',
      revision: 3,
      after: apiEndpoint('api-a', 'gpt-a', mock.url),
    });
    const routeBack = await call(gw.url, 'POST', '/admin/v1/routes/ab/rollback', admin(), { revision: 1 });
    expect(routeBack.body.revision).toBe(3);
    // The exact previous behaviour: every request of the route goes to api-a, which calls gpt-a again.
    expect(await traffic('ab', 10)).toEqual({ 'gpt-a': 10 });
    expect(await traffic('api-a', 2)).toEqual({ 'gpt-a': 2 });

    // A deleted endpoint comes back by rolling back to a revision where it existed.
    const restored = await call(gw.url, 'POST', '/admin/v1/endpoints/temp/rollback', admin(), {
      revision: 1,
    });
    expect(restored.body).toMatchObject({ action: 'rollback', revision: 3 });
    expect(await traffic('temp', 1)).toEqual({ 'gpt-t': 1 });

    expect(
      (await call(gw.url, 'POST', '/admin/v1/endpoints/api-a/rollback', admin(), { revision: 99 })).status,
    ).toBe(404);
    expect(
      (await call(gw.url, 'POST', '/admin/v1/endpoints/api-a/rollback', admin(), { revision: 'one' })).status,
    ).toBe(400);

    const audit = await call(
      gw.url,
      'GET',
      '/admin/v1/audit?targetType=routing.endpoint&targetId=api-a',
      admin(),
    );
    expect(audit.status).toBe(200);
    const actions = audit.body.entries;
    expect(actions.map((a: { action: string }) => a.action)).toEqual([
      'routing.endpoint.rollback',
      'routing.endpoint.update',
      'routing.endpoint.create',
    ]);
  });

  it('finishes a request in flight on the table it started with', async () => {
    await call(
      gw.url,
      'POST',
      '/admin/v1/endpoints',
      admin(),
      apiEndpoint('slowpoke', 'mock-slow', mock.url),
    );
    const before = mock.requests.length;
    // mock-slow answers after 3 s; the endpoint changes while the request waits for it.
    const inFlight = call(gw.url, 'POST', '/v1/chat/completions', admin(), chatBody('slowpoke'));
    await waitFor(() => mock.requests.length > before, 2000);
    const changed = await call(
      gw.url,
      'PUT',
      '/admin/v1/endpoints/slowpoke',
      admin(),
      apiEndpoint('slowpoke', 'gpt-fast', mock.url),
    );
    expect(changed.status).toBe(200);
    expect(await traffic('slowpoke', 1)).toEqual({ 'gpt-fast': 1 });
    const slow = await inFlight;
    expect(slow.status).toBe(200);
    expect(slow.body.model).toContain('mock-slow');
  });

  it('needs routing.read to look and routing.write to change', async () => {
    const principal = await call(gw.url, 'POST', '/admin/v1/principals', admin(), {
      kind: 'user',
      name: 'watcher',
      roles: ['viewer'],
    });
    const key = await call(gw.url, 'POST', '/admin/v1/keys', admin(), {
      name: 'v',
      principalId: principal.body.id,
    });
    const viewer = bearer(key.body.key);
    expect((await call(gw.url, 'GET', '/admin/v1/routes', viewer)).status).toBe(200);
    expect((await call(gw.url, 'GET', '/admin/v1/routes/ab/revisions', viewer)).status).toBe(200);
    expect(
      (
        await call(
          gw.url,
          'PUT',
          '/admin/v1/routes/ab',
          viewer,
          split('ab', { 'api-a': 100, 'file-chat': 0 }),
        )
      ).status,
    ).toBe(403);
  });

  it('serves every request while weights change under steady load (20 clients)', async () => {
    await call(gw.url, 'POST', '/admin/v1/endpoints', admin(), apiEndpoint('api-b', 'gpt-b', mock.url));
    await call(gw.url, 'POST', '/admin/v1/routes', admin(), split('live', { 'api-a': 100, 'api-b': 0 }));
    let stop = false;
    const statuses: number[] = [];
    const clients = Array.from({ length: 20 }, async () => {
      while (!stop) {
        const r = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...admin() },
          body: JSON.stringify(chatBody('live')),
        });
        await r.arrayBuffer();
        statuses.push(r.status);
      }
    });
    const weights = [0, 50, 100, 25, 75];
    let changes = 0;
    const putMs: number[] = [];
    const started = Date.now();
    // At least 4 s of load and at least 6 weight changes (a PUT takes ~1 s on a loaded 2-core machine).
    while (Date.now() - started < 4000 || changes < 6) {
      const b = weights[changes % weights.length];
      const t0 = Date.now();
      const put = await call(
        gw.url,
        'PUT',
        '/admin/v1/routes/live',
        admin(),
        split('live', { 'api-a': 100 - b, 'api-b': b }),
      );
      expect(put.status).toBe(200);
      putMs.push(Date.now() - t0);
      changes++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    stop = true;
    await Promise.all(clients);
    const failed = statuses.filter((s) => s !== 200);
    console.log(
      `steady load: ${statuses.length} requests, ${failed.length} failed, ${changes} weight changes (${putMs.join(',')} ms)`,
    );
    expect(changes).toBeGreaterThanOrEqual(6);
    const upstream = new Set(mock.requests.slice(-statuses.length).map((r) => r.body.model));
    expect([...upstream].sort()).toEqual(['gpt-a', 'gpt-b']);
    expect(statuses.length).toBeGreaterThan(200);
    expect(failed).toEqual([]);
  });

  it('applies a YAML edit on top of the API entries, and refuses one that clashes with them', async () => {
    const yaml = `endpoints:\n${openaiEndpoint('file-chat', 'gpt-file', mock.url)}${openaiEndpoint('file-two', 'gpt-two', mock.url)}`;
    await writeFile(gw.configPath, yaml);
    await waitFor(
      async () =>
        (await call(gw.url, 'POST', '/v1/chat/completions', admin(), chatBody('file-two'))).status === 200,
      5000,
    );
    expect(await traffic('api-a', 2)).toEqual({ 'gpt-a': 2 });
    expect((await call(gw.url, 'GET', '/admin/v1/endpoints/file-two', admin())).body.source).toBe('file');

    // The file now declares 'api-a' too: a duplicate name, so the edit is rejected and nothing changes.
    await writeFile(gw.configPath, `${yaml}${openaiEndpoint('api-a', 'gpt-clash', mock.url)}`);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(await traffic('api-a', 2)).toEqual({ 'gpt-a': 2 });
    expect((await call(gw.url, 'GET', '/admin/v1/endpoints/api-a', admin())).body.source).toBe('api');
  });
});
