import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { call, chatBody } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

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

const MASTER_KEY = randomBytes(32).toString('base64');

/** Admin-API entries reference the provider key as a stored secret (never an environment variable). */
async function storeMockKey(gw: TestGateway): Promise<void> {
  const put = await call(gw.url, 'PUT', '/admin/v1/secrets/mock-openai', gw.authHeaders(), {
    value: MOCK_API_KEY,
  });
  expect(put.status).toBe(200);
}

const route = (name: string, a: number, b: number) => ({
  name,
  task_type: 'llm/v1/chat',
  destinations: [
    { name: 'ep-a', traffic_percentage: a },
    { name: 'ep-b', traffic_percentage: b },
  ],
});

/** Polls `gw` with chat requests to `model` until the mock sees `upstream`; returns the elapsed ms. */
async function until(gw: TestGateway, mock: OpenAIMock, model: string, upstream: string, timeoutMs: number) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const before = mock.requests.length;
    const r = await call(gw.url, 'POST', '/v1/chat/completions', gw.authHeaders(), chatBody(model));
    if (r.status === 200 && mock.requests.slice(before).some((q) => q.body.model === upstream)) {
      return Date.now() - started;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${upstream} not reached through ${model} within ${timeoutMs} ms`);
}

describe('config changes on two replicas sharing one PostgreSQL', () => {
  let mock: OpenAIMock;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    const yaml = `endpoints:\n${openaiEndpoint('file-chat', 'gpt-file', mock.url)}`;
    a = await startGateway(yaml, {
      env: { GATEHOUSE_MASTER_KEY: MASTER_KEY, ROLLOUT_TICK_MS: '200', ROLLOUT_STATS_FLUSH_MS: '200' },
    });
    await storeMockKey(a);
    // B never leads a rollout pass in this test (its tick is 10 minutes), so A must judge B's traffic.
    b = await startGateway(yaml, {
      databaseUrl: a.databaseUrl,
      env: {
        GATEHOUSE_MASTER_KEY: MASTER_KEY,
        ROUTING_RECONCILE_INTERVAL_MS: '500',
        ROLLOUT_TICK_MS: '600000',
        ROLLOUT_STATS_FLUSH_MS: '200',
      },
    });
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await mock?.close();
  });

  it('an endpoint created on one replica serves on the other within a second', async () => {
    const before = await call(b.url, 'POST', '/v1/chat/completions', b.authHeaders(), chatBody('ep-a'));
    expect(before.status).toBe(404);
    const created = await call(
      a.url,
      'POST',
      '/admin/v1/endpoints',
      a.authHeaders(),
      apiEndpoint('ep-a', 'gpt-a', mock.url),
    );
    expect(created.status).toBe(201);
    const elapsed = await until(b, mock, 'ep-a', 'gpt-a', 1000);
    console.log(`endpoint created on A served by B after ${elapsed} ms`);
    expect(elapsed).toBeLessThan(1000);
  });

  it('new weights and a rollback reach the other replica within a second', async () => {
    await call(a.url, 'POST', '/admin/v1/endpoints', a.authHeaders(), apiEndpoint('ep-b', 'gpt-b', mock.url));
    expect((await call(a.url, 'POST', '/admin/v1/routes', a.authHeaders(), route('r', 100, 0))).status).toBe(
      201,
    );
    await until(b, mock, 'r', 'gpt-a', 1000);
    expect((await call(a.url, 'PUT', '/admin/v1/routes/r', a.authHeaders(), route('r', 0, 100))).status).toBe(
      200,
    );
    const weights = await until(b, mock, 'r', 'gpt-b', 1000);
    console.log(`new weights on A in effect on B after ${weights} ms`);
    expect(weights).toBeLessThan(1000);
    const back = await call(a.url, 'POST', '/admin/v1/routes/r/rollback', a.authHeaders(), { revision: 1 });
    expect(back.body.revision).toBe(3);
    expect(await until(b, mock, 'r', 'gpt-a', 1000)).toBeLessThan(1000);
    // And it stays there: 20 requests on B, all to gpt-a.
    const seen = mock.requests.length;
    for (let i = 0; i < 20; i++) {
      expect((await call(b.url, 'POST', '/v1/chat/completions', b.authHeaders(), chatBody('r'))).status).toBe(
        200,
      );
    }
    expect(new Set(mock.requests.slice(seen).map((q) => q.body.model))).toEqual(new Set(['gpt-a']));
  });

  it('a replica that missed the NOTIFY catches up at the reconcile interval', async () => {
    // A change written straight to the database, without NOTIFY: only the periodic reconcile sees it.
    const db = new Client({ connectionString: a.databaseUrl });
    await db.connect();
    try {
      const after = route('r', 0, 100);
      await db.query('BEGIN');
      await db.query(
        `UPDATE gateway_config_entries SET body = $1::jsonb, revision = 4 WHERE kind = 'route' AND name = 'r'`,
        [JSON.stringify(after)],
      );
      await db.query(
        `INSERT INTO gateway_config_changes (kind, name, revision, action, before, after, actor_name) VALUES ('route', 'r', 4, 'update', NULL, $1::jsonb, 'sql')`,
        [JSON.stringify(after)],
      );
      await db.query('COMMIT');
    } finally {
      await db.end();
    }
    const elapsed = await until(b, mock, 'r', 'gpt-b', 3000);
    console.log(`change without NOTIFY picked up by B after ${elapsed} ms (reconcile every 500 ms)`);
    expect(elapsed).toBeLessThan(1500);
  });

  it('the rollout leader judges traffic served by the other replica', async () => {
    const created = await call(a.url, 'POST', '/admin/v1/rollouts', a.authHeaders(), {
      route: 'ro',
      baseline: 'ep-a',
      canary: 'ep-b',
      steps: [50, 100],
      hold_seconds: 1,
      min_requests: 5,
      max_p95_latency_ratio: 10,
      p95_latency_slack_ms: 500,
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    // All traffic goes to B; A (the only leader) sees it through the shared counts.
    await until(b, mock, 'ro', 'gpt-b', 3000);
    let state = 'running';
    const deadline = Date.now() + 30_000;
    while (state === 'running' && Date.now() < deadline) {
      const r = await call(b.url, 'POST', '/v1/chat/completions', b.authHeaders(), chatBody('ro'));
      expect(r.status).toBe(200);
      state = (await call(a.url, 'GET', `/admin/v1/rollouts/${id}`, a.authHeaders())).body.state;
    }
    const done = (await call(b.url, 'GET', `/admin/v1/rollouts/${id}`, b.authHeaders())).body;
    expect(done.state).toBe('completed');
    expect(done.history.map((e: { event: string }) => e.event)).toEqual(['started', 'advanced', 'completed']);
    expect(done.last_evaluation.canary.requests).toBeGreaterThanOrEqual(5);
  });
});

describe('embedded PGlite', () => {
  it('applies admin changes and rollbacks in a single process', async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    const mock = await startOpenAIMock();
    const gw = await startGateway('endpoints: []\n', {
      embedded: true,
      env: { GATEHOUSE_MASTER_KEY: MASTER_KEY },
    });
    try {
      await storeMockKey(gw);
      const h = gw.authHeaders();
      expect(
        (await call(gw.url, 'POST', '/admin/v1/endpoints', h, apiEndpoint('ep-a', 'gpt-a', mock.url))).status,
      ).toBe(201);
      expect(
        (await call(gw.url, 'PUT', '/admin/v1/endpoints/ep-a', h, apiEndpoint('ep-a', 'gpt-b', mock.url)))
          .status,
      ).toBe(200);
      expect(await until(gw, mock, 'ep-a', 'gpt-b', 1000)).toBeLessThan(1000);
      expect(
        (await call(gw.url, 'POST', '/admin/v1/endpoints/ep-a/rollback', h, { revision: 1 })).status,
      ).toBe(200);
      expect(await until(gw, mock, 'ep-a', 'gpt-a', 1000)).toBeLessThan(1000);
    } finally {
      await gw.close();
      await mock.close();
    }
  });
});
