import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { INVOCATION_FINISHED, InvocationRecord } from 'src/common/observability/invocation';
import { TokenCounter } from 'src/modules/tokens/token-counter';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { call } from 'test/e2e/support/admin-client';
import { redisKeys, TEST_REDIS_URL, uniqueRedisPrefix } from 'test/e2e/support/redis-prefix';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';

jest.setTimeout(120_000);

const chat = (model: string, text: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content: text }],
  ...extra,
});

/** Reads an SSE answer to the end. */
async function streamed(url: string, headers: Record<string, string>, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { response, text: await response.text() };
}

describe('limits, token accounting and budgets (real Redis and PostgreSQL)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  const prefix = uniqueRedisPrefix('limits-e2e');
  const records: InvocationRecord[] = [];
  const alertEvents: unknown[] = [];
  const hooked: Record<string, unknown>[] = [];
  let hook: Server | undefined;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    const yaml = `endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    gatehouse:\n      limits:\n        - { per: principal, requests_per_hour: 5 }')}
${openaiEndpoint('tok', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    gatehouse:\n      limits:\n        - { per: endpoint, tokens_per_hour: 100000 }')}
${openaiEndpoint('budgeted', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    gatehouse:\n      pricing: { input_per_million: 0, output_per_million: 2 }')}
${openaiEndpoint('mlflow-limited', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    limit: { calls: 2, renewal_period: hour }')}
${openaiEndpoint('softy', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('slow', 'mock-slow', mock.url, 'llm/v1/chat', '    gatehouse:\n      limits:\n        - { per: principal, concurrent: 2 }')}
${openaiEndpoint('cached', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    gatehouse:\n      cache: { ttl_seconds: 60 }\n      limits:\n        - { per: endpoint, requests_per_hour: 100, tokens_per_hour: 100000 }')}
  - name: groqstream
    endpoint_type: llm/v1/chat
    model:
      provider: groq
      name: gpt-4o-mini
      config:
        api_key: $MOCK_OPENAI_KEY
        api_base: ${mock.url}/v1
    gatehouse:
      pricing: { input_per_million: 1, output_per_million: 2 }
`;
    gateway = await startGateway(yaml, {
      env: {
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'fatal',
      },
    });
    gateway.app
      .get(EventEmitter2)
      .on(INVOCATION_FINISHED, (record: InvocationRecord) => records.push(record));
    gateway.app.get(EventEmitter2).on('budget.exceeded', (event: unknown) => alertEvents.push(event));
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        hooked.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook!.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    if (hook) await new Promise((resolve) => hook!.close(resolve));
    await gateway?.close();
    await mock?.close();
    await redisKeys(prefix, true);
  });

  const post = (path: string, body: unknown) => call(gateway.url, 'POST', path, gateway.authHeaders(), body);

  it("answers with OpenAI's x-ratelimit headers and refuses past the limit with 429 + Retry-After", async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post('/v1/chat/completions', chat('chat', 'hello there'));
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit-requests')).toBe('5');
      expect(res.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+h)?(\d+m)?\d+s$|^\d+ms$/);
      remaining.push(res.headers.get('x-ratelimit-remaining-requests')!);
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    const refused = await post('/v1/chat/completions', chat('chat', 'hello there'));
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limit_exceeded');
    expect(refused.body.error.type).toBe('rate_limit_error');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    // The MLflow surface refuses the same way, in its own envelope.
    const mlflow = await post('/gateway/chat/invocations', { messages: [{ role: 'user', content: 'hi' }] });
    expect(mlflow.status).toBe(429);
    expect(typeof mlflow.body.detail).toBe('string');
  });

  it("honours MLflow's limit: {calls, renewal_period} per principal", async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await post('/gateway/mlflow-limited/invocations', { messages: [{ role: 'user', content: 'x' }] }))
          .status,
      );
    }
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('reserves prompt + max_tokens and settles with the usage the stream reports', async () => {
    const body = chat('tok', 'one two three', { stream: true, max_tokens: 50 });
    const first = await streamed(`${gateway.url}/v1/chat/completions`, gateway.authHeaders(), body);
    expect(first.response.status).toBe(200);
    expect(first.text).toContain('data: [DONE]');
    const r1 = Number(first.response.headers.get('x-ratelimit-remaining-tokens'));
    const counter = await new TokenCounter().counterFor(TokenCounter.choose('openai', 'gpt-4o-mini'));
    const estimate = counter.messages([{ role: 'user', content: 'one two three' }]) + 50;
    expect(r1).toBe(100_000 - estimate);
    await waitFor(() => records.some((r) => r.endpoint === 'tok'));
    const record = records.find((r) => r.endpoint === 'tok')!;
    // The mock counts words: prompt 3, completion "echo: one two three" = 4.
    expect(record.promptTokens).toBe(3);
    expect(record.completionTokens).toBe(4);
    expect(record.tokensEstimated).toBeUndefined();
    // gpt-4o-mini's default list price: $0.15 / $0.60 per million.
    expect(record.costUsd).toBeCloseTo((3 * 0.15 + 4 * 0.6) / 1e6, 12);
    // The second reservation sees the first one settled to its real 7 tokens.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await streamed(`${gateway.url}/v1/chat/completions`, gateway.authHeaders(), body);
    expect(Number(second.response.headers.get('x-ratelimit-remaining-tokens'))).toBe(100_000 - 7 - estimate);
  });

  it('counts the streamed text when the stream reports no usage, and prices it', async () => {
    const { response, text } = await streamed(
      `${gateway.url}/v1/chat/completions`,
      gateway.authHeaders(),
      chat('groqstream', 'alpha beta gamma delta', { stream: true }),
    );
    expect(response.status).toBe(200);
    expect(text).not.toContain('"usage":{');
    await waitFor(() => records.some((r) => r.endpoint === 'groqstream'));
    const record = records.find((r) => r.endpoint === 'groqstream')!;
    const counter = await new TokenCounter().counterFor(TokenCounter.choose('groq', 'gpt-4o-mini'));
    expect(record.tokensEstimated).toBe(true);
    expect(record.completionTokens).toBe(counter.text('echo: alpha beta gamma delta'));
    expect(record.promptTokens).toBe(counter.messages([{ role: 'user', content: 'alpha beta gamma delta' }]));
    expect(record.costUsd).toBeCloseTo((record.promptTokens! * 1 + record.completionTokens! * 2) / 1e6, 12);
  });

  it('200 concurrent requests against a hard budget with room for 10 admit exactly 10 and overspend nothing', async () => {
    // Each request reserves 5 completion tokens at $2/M = $0.00001 and really costs exactly that.
    const created = await post('/admin/v1/budgets', {
      name: 'room-for-ten',
      scope: 'endpoint',
      subject: 'budgeted',
      period: 'monthly',
      amount_usd: 0.0001,
      mode: 'hard',
    });
    expect(created.status).toBe(201);
    const before = mock.requests.length;
    const prompt = 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10';
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        post('/v1/chat/completions', chat('budgeted', prompt, { max_tokens: 5 })),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(190);
    expect(mock.requests.length - before).toBe(10);
    expect(refused[0].body.error.code).toBe('budget_exceeded');
    expect(refused[0].body.error.message).toMatch(/resets at \d{4}-\d{2}-01T00:00:00.000Z/);
    expect(Number(refused[0].headers.get('retry-after'))).toBeGreaterThan(0);
    const statusPath = `/admin/v1/budgets/${created.body.id}/status`;
    await waitFor(
      async () => (await call(gateway.url, 'GET', statusPath, gateway.authHeaders())).body.reserved_usd === 0,
    );
    const status = await call(gateway.url, 'GET', statusPath, gateway.authHeaders());
    expect(status.body).toMatchObject({
      spent_usd: 0.0001,
      reserved_usd: 0,
      remaining_usd: 0,
      amount_usd: 0.0001,
    });
    expect(Date.parse(status.body.resets_at)).toBeGreaterThan(Date.now());
  });

  it('prices are versioned: the version in force at request time applies', async () => {
    const past = new Date(Date.now() - 86_400_000).toISOString();
    const future = new Date(Date.now() + 86_400_000).toISOString();
    expect(
      (
        await post('/admin/v1/prices', {
          provider: 'openai',
          model: 'gpt-4o-mini',
          input_per_million: 1,
          output_per_million: 3,
          effective_from: past,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await post('/admin/v1/prices', {
          provider: 'openai',
          model: 'gpt-4o-mini',
          input_per_million: 9,
          output_per_million: 9,
          effective_from: future,
        })
      ).status,
    ).toBe(201);
    const now = await call(
      gateway.url,
      'GET',
      '/admin/v1/prices/effective?provider=openai&model=gpt-4o-mini-2024-07-18',
      gateway.authHeaders(),
    );
    expect(now.body).toMatchObject({ source: 'catalog', input_per_million: 1, output_per_million: 3 });
    const later = await call(
      gateway.url,
      'GET',
      `/admin/v1/prices/effective?provider=openai&model=gpt-4o-mini&at=${encodeURIComponent(new Date(Date.now() + 2 * 86_400_000).toISOString())}`,
      gateway.authHeaders(),
    );
    expect(later.body).toMatchObject({ input_per_million: 9 });
    records.length = 0;
    expect((await post('/v1/chat/completions', chat('tok', 'one two three'))).status).toBe(200);
    await waitFor(() => records.length > 0);
    expect(records[0].costUsd).toBeCloseTo((3 * 1 + 4 * 3) / 1e6, 12);
  });

  it('admin limits apply on the next request without a restart, and bad input is a 400', async () => {
    const bad = await post('/admin/v1/limits', { scope: 'team', metric: 'requests', limit: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_request');
    const created = await post('/admin/v1/limits', {
      scope: 'global',
      endpoint: 'budgeted',
      metric: 'requests',
      window: 'hour',
      limit: 1,
    });
    expect(created.status).toBe(201);
    const list = await call(gateway.url, 'GET', '/admin/v1/limits', gateway.authHeaders());
    expect(list.body.map((l: { id: string }) => l.id)).toContain(created.body.id);
    expect(list.body.some((l: { source: string }) => l.source === 'yaml')).toBe(true);
    // The budget above is spent, so raise it first: the request limit is what refuses now.
    const budgets = await call(gateway.url, 'GET', '/admin/v1/budgets', gateway.authHeaders());
    for (const b of budgets.body)
      await call(gateway.url, 'DELETE', `/admin/v1/budgets/${b.id}`, gateway.authHeaders());
    expect((await post('/v1/chat/completions', chat('budgeted', 'a b c', { max_tokens: 5 }))).status).toBe(
      200,
    );
    const refused = await post('/v1/chat/completions', chat('budgeted', 'a b c', { max_tokens: 5 }));
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limit_exceeded');
    expect(
      (await call(gateway.url, 'DELETE', `/admin/v1/limits/${created.body.id}`, gateway.authHeaders()))
        .status,
    ).toBe(204);
    expect((await post('/v1/chat/completions', chat('budgeted', 'a b c', { max_tokens: 5 }))).status).toBe(
      200,
    );
  });

  it('a soft budget never refuses and alerts once per period (event + webhook POST)', async () => {
    const created = await post('/admin/v1/budgets', {
      name: 'softy-daily',
      scope: 'endpoint',
      subject: 'softy',
      period: 'daily',
      amount_usd: 0.000001,
      mode: 'soft',
      alert_webhook_url: `http://127.0.0.1:${(hook!.address() as AddressInfo).port}/finops`,
    });
    expect(created.status).toBe(201);
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await post('/v1/chat/completions', chat('softy', 'one two three'))).status);
    expect(statuses).toEqual([200, 200, 200]);
    await waitFor(() => hooked.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooked).toHaveLength(1);
    expect(hooked[0]).toMatchObject({
      type: 'budget.exceeded',
      name: 'softy-daily',
      mode: 'soft',
      subject: 'softy',
    });
    expect(hooked[0].spentUsd as number).toBeGreaterThanOrEqual(0.000001);
    // The hard budget of the race test alerted too, once, when it was used up.
    expect(alertEvents.map((e) => (e as { name: string }).name).sort()).toEqual([
      'room-for-ten',
      'softy-daily',
    ]);
    const status = await call(
      gateway.url,
      'GET',
      `/admin/v1/budgets/${created.body.id}/status`,
      gateway.authHeaders(),
    );
    const costs = records.filter((r) => r.endpoint === 'softy').map((r) => r.costUsd!);
    expect(costs).toHaveLength(3);
    expect(status.body.spent_usd).toBeCloseTo(costs[0] + costs[1] + costs[2], 9);
  });

  it('caps concurrent requests per principal and frees the slot when a request ends', async () => {
    const results = await Promise.all(
      Array.from({ length: 4 }, () => post('/v1/chat/completions', chat('slow', 'take your time'))),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 429, 429]);
    const refused = results.find((r) => r.status === 429)!;
    expect(refused.body.error.code).toBe('rate_limit_exceeded');
    expect(refused.headers.get('retry-after')).toBe('1');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await post('/v1/chat/completions', chat('slow', 'again'))).status).toBe(200);
  });

  it('a cache hit counts as a request but refunds its tokens and costs nothing', async () => {
    const ask = () => post('/v1/chat/completions', chat('cached', 'cache me please', { temperature: 0 }));
    const miss = await ask();
    expect(miss.headers.get('x-gatehouse-cache')).toBe('miss');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const hits = [await ask()];
    await new Promise((resolve) => setTimeout(resolve, 300));
    hits.push(await ask());
    expect(hits.map((h) => h.headers.get('x-gatehouse-cache'))).toEqual(['hit', 'hit']);
    expect([miss, ...hits].map((r) => r.headers.get('x-ratelimit-remaining-requests'))).toEqual([
      '99',
      '98',
      '97',
    ]);
    const tokens = [miss, ...hits].map((r) => Number(r.headers.get('x-ratelimit-remaining-tokens')));
    // The miss settled to its real usage (3 + 4 words); each hit reserved the same and gave it all back.
    expect(tokens[1]).toBe(tokens[0] - 7);
    expect(tokens[2]).toBe(tokens[1]);
    await waitFor(() => records.filter((r) => r.endpoint === 'cached').length === 3);
    const hitRecords = records.filter((r) => r.endpoint === 'cached' && r.cacheHit);
    expect(hitRecords.map((r) => r.costUsd)).toEqual([0, 0]);
  });
});
