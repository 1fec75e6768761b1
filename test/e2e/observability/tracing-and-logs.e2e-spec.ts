import { randomBytes } from 'node:crypto';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { GatewayProcess, startGatewayProcess } from 'test/e2e/support/gateway-process';
import { OtlpReceiver, ReceivedSpan, startOtlpReceiver } from 'test/e2e/support/otlp-receiver';
import { redisKeys, TEST_REDIS_URL, uniqueRedisPrefix } from 'test/e2e/support/redis-prefix';
import { createTestDatabase, openaiEndpoint } from 'test/e2e/support/test-gateway';

const SERVER = 2;
const CLIENT = 3;
const STATUS_ERROR = 2;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * The real process (src/main.ts: env → OpenTelemetry → Nest) exporting OTLP/JSON to a local receiver,
 * against the OpenAI mock, PostgreSQL and Redis: the span tree of a streamed request, the access log
 * lines on stdout, and three planted secrets that must appear nowhere.
 */
describe('tracing and logs (gateway process)', () => {
  let receiver: OtlpReceiver;
  let mock: OpenAIMock;
  let gateway: GatewayProcess;
  let dropDatabase: () => Promise<void>;
  const redisPrefix = uniqueRedisPrefix('tracing');
  // Canaries: the admin API key every request carries, a provider key in the config, a JWT.
  const apiKey = `gh_${randomBytes(32).toString('base64url')}`;
  const providerKey = `sk-proj-${hex(24)}`;
  const jwt = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: `canary-${hex(8)}` })).toString('base64url')}.${randomBytes(64).toString('base64url')}`;
  const auth = { authorization: `Bearer ${apiKey}` };

  const traceparent = () => {
    const traceId = hex(16);
    const parentId = hex(8);
    return { traceId, parentId, header: `00-${traceId}-${parentId}-01` };
  };
  const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  const waitFor = async <T>(
    what: string,
    get: () => T | undefined | Promise<T | undefined>,
    timeoutMs = 15_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await get();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const serverSpan = (traceId: string) =>
    waitFor(`server span of ${traceId}`, () => spansOf(traceId).find((s) => s.kind === SERVER));
  const accessLine = (requestId: string | null) =>
    waitFor(`access line of ${requestId}`, () =>
      gateway.lines().find((l) => l.type === 'access' && l.requestId === requestId),
    );
  const childrenOf = (traceId: string, parent: ReceivedSpan) =>
    spansOf(traceId).filter((s) => s.parentSpanId === parent.spanId);

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    mock = await startOpenAIMock();
    const database = await createTestDatabase();
    dropDatabase = database.drop;
    gateway = await startGatewayProcess(
      `
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    gatehouse:\n      cache: {ttl_seconds: 60}\n')}
${openaiEndpoint('flaky', 'mock-503', mock.url, 'llm/v1/chat', '    gatehouse:\n      cache: {ttl_seconds: 60}\n      fallbacks: [chat]\n')}
  - name: leaky
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: $LEAKY_PROVIDER_KEY
        openai_api_base: ${mock.url}/v1
`,
      {
        GATEHOUSE_ADMIN_API_KEY: apiKey,
        MOCK_OPENAI_KEY: MOCK_API_KEY,
        LEAKY_PROVIDER_KEY: providerKey,
        DATABASE_URL: database.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: redisPrefix,
        LOG_LEVEL: 'info',
        OTEL_SERVICE_NAME: 'gatehouse-e2e',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    );
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await receiver?.close();
    await mock?.close();
    await dropDatabase?.();
    await redisKeys(redisPrefix, true);
  });

  it('traces a streamed chat request that needed a fallback: server span → phases → one client span per attempt → the upstream call', async () => {
    const { traceId, parentId, header } = traceparent();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: header, ...auth },
      body: JSON.stringify({
        model: 'flaky',
        stream: true,
        stream_options: { include_usage: true },
        temperature: 0,
        messages: [{ role: 'user', content: `tell me a story ${hex(4)}` }],
      }),
    });
    expect(response.status).toBe(200);
    const usage = (await response.text())
      .split('\n\n')
      .map((event) => event.replace(/^data: /, ''))
      .filter((data) => data.startsWith('{'))
      .map((data) => JSON.parse(data) as { usage?: { prompt_tokens: number; completion_tokens: number } })
      .find((chunk) => chunk.usage)?.usage;
    expect(usage?.completion_tokens).toBeGreaterThan(0);

    // The caller's traceparent is continued: same trace, the caller's span is the server span's parent.
    const server = await serverSpan(traceId);
    expect(server.parentSpanId).toBe(parentId);
    expect(server.service).toBe('gatehouse-e2e');
    expect(server.name).toBe('POST /v1/chat/completions');
    expect(server.attributes).toMatchObject({
      'http.route': '/v1/chat/completions',
      'gatehouse.request_id': response.headers.get('x-request-id'),
      'gatehouse.endpoint': 'flaky',
      'gatehouse.target': 'chat',
      'gatehouse.attempts': 2,
      'gatehouse.cache_hit': false,
      'gatehouse.stream': true,
      'gatehouse.outcome': 'success',
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': usage!.prompt_tokens,
      'gen_ai.usage.output_tokens': usage!.completion_tokens,
    });
    expect(server.attributes['gatehouse.principal']).toEqual(expect.any(String));
    expect(server.attributes['gatehouse.team']).toEqual(expect.any(String));
    // No content unless GATEHOUSE_TRACE_CONTENT=true.
    expect(server.attributes['gen_ai.input.messages']).toBeUndefined();

    // Authentication runs before the pipeline, under the server span; the pipeline's invocation span
    // (owned by the tracing stage, with the GenAI attributes) holds every later phase.
    const authSpan = await waitFor('auth span', () =>
      childrenOf(traceId, server).find((s) => s.name === 'gatehouse.auth'),
    );
    expect(authSpan.kind).not.toBe(CLIENT);
    const invocation = await waitFor('invocation span', () =>
      childrenOf(traceId, server).find((s) => s.name.startsWith('gatehouse.invocation')),
    );
    expect(invocation.name).toBe('gatehouse.invocation flaky');
    expect(invocation.attributes).toMatchObject({
      'gatehouse.request_id': response.headers.get('x-request-id'),
      'gatehouse.endpoint': 'flaky',
      'gatehouse.attempts': 2,
      'gatehouse.outcome': 'success',
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': usage!.prompt_tokens,
      'gen_ai.usage.output_tokens': usage!.completion_tokens,
    });
    const phases = await waitFor('phase spans', () => {
      const found = childrenOf(traceId, invocation).filter((s) => s.name.startsWith('gatehouse.'));
      return found.length >= 4 ? found : undefined;
    });
    expect(phases.map((s) => s.name).sort()).toEqual(
      ['gatehouse.cache', 'gatehouse.limits', 'gatehouse.moderation', 'gatehouse.routing'].sort(),
    );
    const routing = phases.find((s) => s.name === 'gatehouse.routing')!;
    const cache = phases.find((s) => s.name === 'gatehouse.cache')!;

    // One CLIENT span per upstream attempt, numbered, under the routing phase: the primary's 503, then
    // the fallback that answered.
    const attempts = childrenOf(traceId, routing)
      .filter((s) => s.kind === CLIENT && s.attributes['gen_ai.operation.name'])
      .sort((a, b) => Number(a.attributes['gatehouse.attempt']) - Number(b.attributes['gatehouse.attempt']));
    expect(attempts.map((s) => s.attributes['gatehouse.attempt'])).toEqual(
      Array.from({ length: Number(server.attributes['gatehouse.attempts']) }, (_, i) => i + 1),
    );
    expect(attempts).toHaveLength(2);
    expect(attempts[0].attributes).toMatchObject({
      'gatehouse.target': 'flaky',
      'gen_ai.request.model': 'mock-503',
      'http.response.status_code': 503,
    });
    expect(attempts[0].status.code).toBe(STATUS_ERROR);
    const attempt = attempts[1];
    expect(attempt.name).toBe('chat gpt-4o-mini');
    expect(attempt.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': expect.any(String),
      'gen_ai.usage.input_tokens': usage!.prompt_tokens,
      'gen_ai.usage.output_tokens': usage!.completion_tokens,
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(mock.url).port),
      'gatehouse.endpoint': 'chat',
      'gatehouse.target': 'chat',
      'gatehouse.attempt': 2,
      'gatehouse.stream': true,
      'gatehouse.team': server.attributes['gatehouse.team'],
      'http.response.status_code': 200,
    });
    expect(attempt.attributes['gatehouse.ttft_ms']).toEqual(expect.any(Number));
    expect(attempt.events.map((e) => e.name)).toContain('gen_ai.first_token');
    expect(attempt.status.code).not.toBe(STATUS_ERROR);

    // The HTTP call itself (undici instrumentation) is the attempt's child, and its context went upstream.
    const http = childrenOf(traceId, attempt).find((s) => s.kind === CLIENT);
    expect(http).toBeDefined();
    expect(http!.attributes['http.request.method']).toBe('POST');
    const upstream = mock.requests.filter((r) => r.path === '/v1/chat/completions').at(-1)!;
    expect(upstream.headers.traceparent).toBe(`00-${traceId}-${http!.spanId}-01`);

    // Redis (ioredis instrumentation) under the cache phase: command and key, never the cached value.
    const redis = spansOf(traceId).filter(
      (s) => s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis',
    );
    expect(redis.length).toBeGreaterThan(0);
    expect(
      redis.every(
        (s) =>
          s.parentSpanId === cache.spanId ||
          s.parentSpanId === routing.spanId ||
          s.parentSpanId === server.spanId,
      ),
    ).toBe(true);
    expect(redis.some((s) => s.parentSpanId === cache.spanId)).toBe(true);

    // The access line of the same request, from the invocation record, carries the trace id.
    const line = await accessLine(response.headers.get('x-request-id'));
    expect(line).toMatchObject({
      level: 'info',
      service: 'gatehouse-e2e',
      traceId,
      method: 'POST',
      path: '/v1/chat/completions',
      status: 200,
      surface: 'openai',
      endpoint: 'flaky',
      target: 'chat',
      provider: 'openai',
      model: 'gpt-4o-mini',
      tokensIn: usage!.prompt_tokens,
      tokensOut: usage!.completion_tokens,
      cache: 'miss',
      attempts: 2,
      stream: true,
      outcome: 'success',
      principal: server.attributes['gatehouse.principal'],
      team: server.attributes['gatehouse.team'],
    });
    expect(line.latencyMs).toBeGreaterThan(0);
    expect(line.ttftMs).toBeLessThanOrEqual(line.latencyMs as number);
  });

  it('marks a cache hit on the server span and makes no attempt span for it', async () => {
    const body = JSON.stringify({
      model: 'chat',
      temperature: 0,
      messages: [{ role: 'user', content: `cache me ${hex(4)}` }],
    });
    const ids: string[] = [];
    for (const expected of ['miss', 'hit']) {
      // The answer is stored in Redis right after it was sent (a traced SET): ask again once it is there.
      if (expected === 'hit') {
        await waitFor('the cache write', () =>
          spansOf(ids[0]).find((s) =>
            /^set /i.test(String(s.attributes['db.statement'] ?? s.attributes['db.query.text'])),
          ),
        );
      }
      const { traceId, header } = traceparent();
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: header, ...auth },
        body,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-gatehouse-cache')).toBe(expected);
      await response.text();
      ids.push(traceId);
    }
    const [missTrace, hitTrace] = ids;
    const miss = await serverSpan(missTrace);
    const hit = await serverSpan(hitTrace);
    expect(miss.attributes).toMatchObject({ 'gatehouse.cache_hit': false, 'gatehouse.attempts': 1 });
    expect(hit.attributes).toMatchObject({
      'gatehouse.cache_hit': true,
      'gatehouse.attempts': 0,
      'gatehouse.outcome': 'cache_hit',
    });
    expect(
      spansOf(missTrace).filter((s) => s.attributes['gen_ai.operation.name'] && s.kind === CLIENT),
    ).toHaveLength(1);
    expect(
      spansOf(hitTrace).filter((s) => s.attributes['gen_ai.operation.name'] && s.kind === CLIENT),
    ).toHaveLength(0);
  });

  it('traces PostgreSQL queries of an admin request and logs it from the HTTP layer', async () => {
    const { traceId, header } = traceparent();
    const response = await fetch(`${gateway.url}/admin/v1/audit`, {
      headers: { traceparent: header, ...auth },
    });
    expect(response.status).toBe(200);
    await response.text();
    const server = await serverSpan(traceId);
    expect(server.name).toBe('GET /admin/v1/audit');
    const pg = await waitFor('pg spans', () => {
      const found = spansOf(traceId).filter(
        (s) => s.attributes['db.system'] === 'postgresql' || s.attributes['db.system.name'] === 'postgresql',
      );
      return found.length > 0 ? found : undefined;
    });
    expect(pg.every((s) => s.kind === CLIENT)).toBe(true);
    const line = await accessLine(response.headers.get('x-request-id'));
    expect(line).toMatchObject({
      traceId,
      method: 'GET',
      route: '/admin/v1/audit',
      status: 200,
      outcome: 'success',
    });
    expect(line.principal).toEqual(server.attributes['gatehouse.principal']);
  });

  it('never writes a planted secret to logs, spans or error bodies', async () => {
    const requests: { name: string; url: string; init: RequestInit; status: number }[] = [
      {
        name: 'a JWT that is not accepted',
        url: '/v1/chat/completions',
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
          body: '{}',
        },
        status: 401,
      },
      {
        name: 'a provider key sent as x-api-key',
        url: '/v1/models',
        init: { headers: { 'x-api-key': providerKey } },
        status: 401,
      },
      { name: 'a JWT in the path', url: `/v1/files/${jwt}`, init: { headers: auth }, status: 404 },
      {
        name: 'a key in the query string',
        url: `/v1/models?api_key=${apiKey}`,
        init: { headers: auth },
        status: 400,
      },
      {
        name: 'an upstream that rejects our provider key',
        url: '/v1/chat/completions',
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...auth },
          body: JSON.stringify({ model: 'leaky', messages: [{ role: 'user', content: 'hi' }] }),
        },
        status: 502,
      },
      {
        name: "Gemini's ?key= (accepted on Gemini's paths only)",
        url: `/v1beta/models/chat:generateContent?key=${apiKey}`,
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
        },
        status: 200,
      },
      {
        name: "a provider key as Gemini's ?key=",
        url: `/gateway/gemini/v1beta/models/chat:streamGenerateContent?alt=sse&key=${providerKey}`,
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
        },
        status: 401,
      },
    ];
    const ids: (string | null)[] = [];
    for (const request of requests) {
      const response = await fetch(`${gateway.url}${request.url}`, request.init);
      const text = await response.text();
      expect({ name: request.name, status: response.status }).toEqual({
        name: request.name,
        status: request.status,
      });
      for (const secret of [apiKey, providerKey, jwt]) expect(text).not.toContain(secret);
      ids.push(response.headers.get('x-request-id'));
    }
    // The provider was really called with the planted key (so it could have leaked).
    expect(mock.requests.some((r) => r.headers.authorization === `Bearer ${providerKey}`)).toBe(true);
    const lines = await Promise.all(ids.map((id) => accessLine(id)));
    expect(lines.map((l) => l.status)).toEqual(requests.map((r) => r.status));
    // The path that carried a JWT is logged, redacted.
    expect(lines[2].path).toBe('/v1/files/[REDACTED]');
    // Gemini's query key: the access line keeps the path and never the query.
    expect([lines[5].path, lines[6].path]).toEqual([
      '/v1beta/models/chat:generateContent',
      '/gateway/gemini/v1beta/models/chat:streamGenerateContent',
    ]);
    await waitFor('spans of the refused requests', () =>
      receiver.spans.filter(
        (s) => s.kind === SERVER && ids.includes(String(s.attributes['gatehouse.request_id'])),
      ).length === ids.length
        ? true
        : undefined,
    );
    const logs = gateway.stdout() + gateway.stderr();
    const exported = receiver.bodies.join('\n');
    for (const secret of [apiKey, providerKey, jwt]) {
      expect(logs).not.toContain(secret);
      expect(exported).not.toContain(secret);
      // Not even a long piece of it.
      expect(logs).not.toContain(secret.slice(-24));
      expect(exported).not.toContain(secret.slice(-24));
    }
  });

  it('flushes the last access lines and spans on shutdown', async () => {
    const { traceId, header } = traceparent();
    const response = await fetch(`${gateway.url}/v1/models`, { headers: { traceparent: header, ...auth } });
    expect(response.status).toBe(200);
    await response.text();
    const requestId = response.headers.get('x-request-id');
    const { code, signal } = await gateway.stop();
    expect(code === 0 || signal === 'SIGTERM').toBe(true);
    expect(gateway.lines().some((l) => l.type === 'access' && l.requestId === requestId)).toBe(true);
    expect(spansOf(traceId).some((s) => s.kind === SERVER)).toBe(true);
  });
});

describe('traced content (GATEHOUSE_TRACE_CONTENT=true)', () => {
  let receiver: OtlpReceiver;
  let mock: OpenAIMock;
  let gateway: GatewayProcess;
  let dropDatabase: () => Promise<void>;
  const apiKey = `gh_${randomBytes(32).toString('base64url')}`;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    mock = await startOpenAIMock();
    const database = await createTestDatabase();
    dropDatabase = database.drop;
    gateway = await startGatewayProcess(`endpoints:\n${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}`, {
      GATEHOUSE_ADMIN_API_KEY: apiKey,
      MOCK_OPENAI_KEY: MOCK_API_KEY,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      GATEHOUSE_TRACE_CONTENT: 'true',
    });
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await receiver?.close();
    await mock?.close();
    await dropDatabase?.();
  });

  it('records the prompt on the server span with PII and credentials masked', async () => {
    const planted = `sk-proj-${hex(24)}`;
    const traceId = hex(16);
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${hex(8)}-01`,
        authorization: `Bearer ${apiKey}`,
      },
      body: JSON.stringify({
        model: 'chat',
        messages: [
          { role: 'user', content: `write to jane.doe@example.com with key ${planted} about tides` },
        ],
      }),
    });
    expect(response.status).toBe(200);
    await response.text();
    const deadline = Date.now() + 15_000;
    let server: ReceivedSpan | undefined;
    while (!server && Date.now() < deadline) {
      server = receiver.spans.find((s) => s.traceId === traceId && s.kind === SERVER);
      if (!server) await new Promise((r) => setTimeout(r, 50));
    }
    const prompt = String(server?.attributes['gen_ai.input.messages']);
    expect(prompt).toContain('about tides');
    expect(prompt).toContain('[EMAIL]');
    expect(prompt).not.toContain('jane.doe@example.com');
    expect(receiver.bodies.join('\n')).not.toContain(planted);
  });
});
