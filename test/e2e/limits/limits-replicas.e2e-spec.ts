import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { call } from 'test/e2e/support/admin-client';
import { redisKeys, TEST_REDIS_URL, uniqueRedisPrefix } from 'test/e2e/support/redis-prefix';
import { startTcpProxy, TcpProxy } from 'test/e2e/support/tcp-proxy';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';

jest.setTimeout(180_000);

const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hello replicas' }] });
const limited = (name: string, mock: OpenAIMock, rule: string) =>
  openaiEndpoint(
    name,
    'gpt-4o-mini',
    mock.url,
    'llm/v1/chat',
    `    gatehouse:\n      limits:\n        - ${rule}`,
  );

/** Waits out the end of the current hour if it is too close (the test must stay inside one window). */
async function awayFromHourEnd(): Promise<void> {
  const left = 3_600_000 - (Date.now() % 3_600_000);
  if (left < 30_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

describe('three replicas sharing Redis', () => {
  let mock: OpenAIMock;
  const gateways: TestGateway[] = [];
  const prefix = uniqueRedisPrefix('limits-replicas');
  // All three boot with the first one's admin key (GATEHOUSE_ADMIN_API_KEY): one principal everywhere.
  const auth = () => gateways[0].authHeaders();

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    const yaml = `endpoints:\n${limited('shared', mock, '{ per: endpoint, requests_per_hour: 20 }')}\n${openaiEndpoint('open', 'gpt-4o-mini', mock.url)}`;
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix };
    gateways.push(await startGateway(yaml, { env }));
    for (let i = 0; i < 2; i++) {
      gateways.push(
        await startGateway(yaml, {
          databaseUrl: gateways[0].databaseUrl,
          env: { ...env, GATEHOUSE_ADMIN_API_KEY: gateways[0].apiKey },
        }),
      );
    }
  });

  afterAll(async () => {
    for (const g of gateways.slice(1)) await g.close();
    await gateways[0]?.close();
    await mock?.close();
    await redisKeys(prefix, true);
  });

  it('admit exactly the limit per window across the three, never more', async () => {
    await awayFromHourEnd();
    const before = mock.requests.length;
    const results = await Promise.all(
      Array.from({ length: 90 }, (_, i) => {
        const g = gateways[i % 3];
        return call(g.url, 'POST', '/v1/chat/completions', auth(), chat('shared'));
      }),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(70);
    expect(mock.requests.length - before).toBe(20);
    // Every replica admitted some and refused some: the counter is one, not three.
    const remaining = results
      .filter((r) => r.status === 200)
      .map((r) => Number(r.headers.get('x-ratelimit-remaining-requests')));
    expect([...remaining].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('an admin limit set on one replica is enforced by the others within a second', async () => {
    await awayFromHourEnd();
    const [a, b] = gateways;
    const created = await call(a.url, 'POST', '/admin/v1/limits', auth(), {
      scope: 'endpoint',
      subject: 'open',
      metric: 'requests',
      window: 'hour',
      limit: 2,
    });
    expect(created.status).toBe(201);
    await waitFor(async () => {
      const list = await call<{ id: string }[]>(b.url, 'GET', '/admin/v1/limits', auth());
      return list.body.some((l) => l.id === created.body.id);
    }, 1000);
    const statuses = [];
    for (const g of [b, gateways[2], a]) {
      statuses.push((await call(g.url, 'POST', '/v1/chat/completions', auth(), chat('open'))).status);
    }
    expect(statuses).toEqual([200, 200, 429]);
  });
});

describe('Redis cut mid-test (through a TCP proxy)', () => {
  let mock: OpenAIMock;
  let proxy: TcpProxy;
  let gateway: TestGateway;
  const prefix = uniqueRedisPrefix('limits-cut');

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    const redis = new URL(TEST_REDIS_URL);
    proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
    const yaml = `endpoints:\n${limited('rl', mock, '{ per: endpoint, requests_per_hour: 3 }')}\n${openaiEndpoint('bud', 'gpt-4o-mini', mock.url)}`;
    gateway = await startGateway(yaml, {
      embedded: true,
      env: {
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        REDIS_KEY_PREFIX: prefix,
        LIMITS_REDIS_RETRY_MS: '300',
      },
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await proxy?.kill();
    await mock?.close();
    await redisKeys(prefix, true);
  });

  const post = (model: string) =>
    call(gateway.url, 'POST', '/v1/chat/completions', gateway.authHeaders(), chat(model));

  it('budgets fail closed with 503 + Retry-After, rate limits fall back to a per-replica cap, and both recover', async () => {
    await awayFromHourEnd();
    const budget = await call(gateway.url, 'POST', '/admin/v1/budgets', gateway.authHeaders(), {
      name: 'bud-daily',
      scope: 'endpoint',
      subject: 'bud',
      period: 'daily',
      amount_usd: 5,
    });
    expect(budget.status).toBe(201);
    expect((await post('bud')).status).toBe(200);
    expect((await post('rl')).status).toBe(200);

    proxy.stall();
    const started = Date.now();
    const refused = await post('bud');
    const elapsed = Date.now() - started;
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('limits_unavailable');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(elapsed).toBeLessThan(2_000); // one ≤200 ms timeout, on a loaded machine
    const status = await call(
      gateway.url,
      'GET',
      `/admin/v1/budgets/${budget.body.id}/status`,
      gateway.authHeaders(),
    );
    expect(status.status).toBe(503);
    // Per-replica fallback: the limit (3) counted locally from zero, so 3 more, then 429. Nothing hangs.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post('rl')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(Date.now() - started).toBeLessThan(10_000);

    proxy.resume();
    await waitFor(async () => (await post('bud')).status === 200, 10_000);
    const recovered = await call(
      gateway.url,
      'GET',
      `/admin/v1/budgets/${budget.body.id}/status`,
      gateway.authHeaders(),
    );
    expect(recovered.status).toBe(200);
    expect(recovered.body.spent_usd).toBeGreaterThan(0);
  });
});
