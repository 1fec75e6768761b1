import { randomBytes } from 'node:crypto';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { call } from 'test/e2e/support/admin-client';
import { GatewayProcess, startGatewayProcess } from 'test/e2e/support/gateway-process';
import { redisKeys, TEST_REDIS_URL, uniqueRedisPrefix } from 'test/e2e/support/redis-prefix';
import { createTestDatabase, openaiEndpoint } from 'test/e2e/support/test-gateway';

jest.setTimeout(180_000);

/**
 * The same exactness as limits-replicas, with three real gateway processes (own event loops, own Redis
 * connections, own in-memory state) sharing one Redis and one PostgreSQL.
 */
describe('three gateway processes sharing Redis', () => {
  let mock: OpenAIMock;
  let drop: (() => Promise<void>) | undefined;
  const processes: GatewayProcess[] = [];
  const prefix = uniqueRedisPrefix('limits-processes');
  const apiKey = `gh_test_${randomBytes(16).toString('hex')}`;
  const auth = { authorization: `Bearer ${apiKey}` };

  beforeAll(async () => {
    mock = await startOpenAIMock();
    const database = await createTestDatabase();
    drop = database.drop;
    const yaml = `endpoints:\n${openaiEndpoint(
      'shared',
      'gpt-4o-mini',
      mock.url,
      'llm/v1/chat',
      '    gatehouse:\n      limits:\n        - { per: endpoint, requests_per_hour: 15 }',
    )}\n`;
    const env = {
      GATEHOUSE_ADMIN_API_KEY: apiKey,
      MOCK_OPENAI_KEY: MOCK_API_KEY,
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
    };
    // One at a time: the first applies the migrations, the others find them applied.
    for (let i = 0; i < 3; i++) processes.push(await startGatewayProcess(yaml, env));
  });

  afterAll(async () => {
    for (const p of processes) await p.stop();
    await mock?.close();
    await drop?.();
    await redisKeys(prefix, true);
  });

  it('admit exactly the limit per window, never more', async () => {
    const left = 3_600_000 - (Date.now() % 3_600_000);
    if (left < 30_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        call(processes[i % 3].url, 'POST', '/v1/chat/completions', auth, {
          model: 'shared',
          messages: [{ role: 'user', content: `hello ${i}` }],
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(15);
    expect(statuses.filter((s) => s === 429)).toHaveLength(45);
    expect(mock.requests.length).toBe(15);
    const remaining = results
      .filter((r) => r.status === 200)
      .map((r) => Number(r.headers.get('x-ratelimit-remaining-requests')))
      .sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 15 }, (_, i) => i));
    // Each process both admitted and refused: one counter, not three.
    for (let p = 0; p < 3; p++) {
      const own = statuses.filter((_, i) => i % 3 === p);
      expect(own).toContain(429);
    }
  });
});
