import OpenAI from 'openai';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { redisKeys, TEST_REDIS_URL, uniqueRedisPrefix } from 'test/e2e/support/redis-prefix';
import { startTcpProxy, TcpProxy } from 'test/e2e/support/tcp-proxy';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

const cache = (settings: string) => `    gatehouse:\n      cache: ${settings}\n`;

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of many shapes, checked by the assertions
  body: any;
  text: string;
  ms: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Response cache (Redis)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let client: OpenAI;
  const prefix = uniqueRedisPrefix('cache-e2e');

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const started = performance.now();
    const response = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders(), ...headers },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return {
      status: response.status,
      headers: response.headers,
      body: parsed,
      text,
      ms: performance.now() - started,
    };
  };
  const chat = (model: string, content: string, extra: Record<string, unknown> = {}, headers = {}) =>
    post(
      '/v1/chat/completions',
      { model, messages: [{ role: 'user', content }], temperature: 0, ...extra },
      headers,
    );
  const upstreamCalls = () => mock.requests.length;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(
      `
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url, 'llm/v1/chat', cache('{ttl_seconds: 60}'))}
${openaiEndpoint('chat-twin', 'gpt-4o-mini', mock.url, 'llm/v1/chat', cache('{ttl_seconds: 60}'))}
${openaiEndpoint('short', 'gpt-4o-mini', mock.url, 'llm/v1/chat', cache('{ttl_seconds: 1}'))}
${openaiEndpoint('embed', 'text-embedding-3-small', mock.url, 'llm/v1/embeddings', cache('{}'))}
${openaiEndpoint('complete', 'gpt-3.5-turbo-instruct', mock.url, 'llm/v1/completions', cache('{}'))}
${openaiEndpoint('plain', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('broken', 'mock-500', mock.url, 'llm/v1/chat', cache('{}'))}
${openaiEndpoint('cut', 'mock-cut', mock.url, 'llm/v1/chat', cache('{}'))}
${openaiEndpoint('slow', 'mock-slow', mock.url, 'llm/v1/chat', cache('{}'))}
routes:
  - name: chat-route
    task_type: llm/v1/chat
    destinations:
      - name: chat
        traffic_percentage: 100
`,
      { env: { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix } },
    );
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.apiKey, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
    await redisKeys(prefix, true);
  });

  it('misses, then answers from the cache with age and without calling upstream', async () => {
    const before = upstreamCalls();
    const first = await chat('chat', 'hit me once');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-gatehouse-cache')).toBe('miss');
    expect(first.headers.get('age')).toBeNull();
    const second = await chat('chat', 'hit me once');
    expect(second.status).toBe(200);
    expect(second.headers.get('x-gatehouse-cache')).toBe('hit');
    expect(Number(second.headers.get('age'))).toBeGreaterThanOrEqual(0);
    expect(second.body).toEqual(first.body);
    expect(upstreamCalls()).toBe(before + 1);
    // The entry lives in Redis under this run's prefix.
    expect(await redisKeys(prefix)).toBeGreaterThanOrEqual(1);
  });

  it('serves the MLflow surface from the same entry, in MLflow shape', async () => {
    await chat('chat', 'shared by both surfaces');
    const before = upstreamCalls();
    const mlflow = await post('/endpoints/chat/invocations', {
      messages: [{ role: 'user', content: 'shared by both surfaces' }],
      temperature: 0,
    });
    expect(mlflow.status).toBe(200);
    expect(mlflow.headers.get('x-gatehouse-cache')).toBe('hit');
    expect(mlflow.body.provider).toBe('openai');
    expect(mlflow.body.choices[0].message).toEqual({
      role: 'assistant',
      content: 'echo: shared by both surfaces',
      tool_calls: null,
      refusal: null,
    });
    expect(upstreamCalls()).toBe(before);
  });

  it('never shares entries between endpoints, even with the same upstream model', async () => {
    const before = upstreamCalls();
    expect((await chat('chat', 'twin prompt')).headers.get('x-gatehouse-cache')).toBe('miss');
    expect((await chat('chat-twin', 'twin prompt')).headers.get('x-gatehouse-cache')).toBe('miss');
    expect((await chat('chat-twin', 'twin prompt')).headers.get('x-gatehouse-cache')).toBe('hit');
    expect(upstreamCalls()).toBe(before + 2);
  });

  it('resolves traffic routes first: a route and its destination endpoint share entries', async () => {
    const before = upstreamCalls();
    expect((await chat('chat', 'via a route')).headers.get('x-gatehouse-cache')).toBe('miss');
    const routed = await chat('chat-route', 'via a route');
    expect(routed.headers.get('x-gatehouse-cache')).toBe('hit');
    expect(routed.headers.get('x-gatehouse-endpoint')).toBe('chat');
    expect(upstreamCalls()).toBe(before + 1);
  });

  it('bypasses sampled requests, Cache-Control: no-store, and refreshes on no-cache', async () => {
    const before = upstreamCalls();
    const sampled = await chat('chat', 'sampled', { temperature: 0.7 });
    expect(sampled.headers.get('x-gatehouse-cache')).toBe('bypass');
    expect((await chat('chat', 'sampled', { temperature: 0.7 })).headers.get('x-gatehouse-cache')).toBe(
      'bypass',
    );
    // Absent temperature is the provider default (1): not deterministic either.
    expect((await chat('chat', 'sampled', { temperature: undefined })).headers.get('x-gatehouse-cache')).toBe(
      'bypass',
    );
    expect(upstreamCalls()).toBe(before + 3);
    // A sampled request the caller opts in is cached.
    await chat('chat', 'sampled', { temperature: 0.7 }, { 'x-gatehouse-cache-opt-in': 'true' });
    const optedIn = await chat(
      'chat',
      'sampled',
      { temperature: 0.7 },
      { 'x-gatehouse-cache-opt-in': 'true' },
    );
    expect(optedIn.headers.get('x-gatehouse-cache')).toBe('hit');
    expect(upstreamCalls()).toBe(before + 4);

    const noStore = await chat('chat', 'never stored', {}, { 'cache-control': 'no-store' });
    expect(noStore.headers.get('x-gatehouse-cache')).toBe('bypass');
    expect((await chat('chat', 'never stored')).headers.get('x-gatehouse-cache')).toBe('miss');
    expect(upstreamCalls()).toBe(before + 6);

    await chat('chat', 'refresh me');
    await sleep(1_100);
    const old = await chat('chat', 'refresh me');
    expect(old.headers.get('x-gatehouse-cache')).toBe('hit');
    expect(Number(old.headers.get('age'))).toBeGreaterThanOrEqual(1);
    const refreshed = await chat('chat', 'refresh me', {}, { 'cache-control': 'no-cache' });
    expect(refreshed.headers.get('x-gatehouse-cache')).toBe('bypass');
    expect(upstreamCalls()).toBe(before + 8);
    await sleep(50);
    const fresh = await chat('chat', 'refresh me');
    expect(fresh.headers.get('x-gatehouse-cache')).toBe('hit');
    expect(fresh.headers.get('age')).toBe('0');
    expect(upstreamCalls()).toBe(before + 8);
  });

  it('sends no cache header on endpoints that do not cache', async () => {
    const answer = await chat('plain', 'uncached');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-gatehouse-cache')).toBeNull();
  });

  it('caches embeddings and completions by default', async () => {
    const before = upstreamCalls();
    const first = await post('/v1/embeddings', { model: 'embed', input: ['a b', 'c'] });
    const second = await post('/v1/embeddings', { model: 'embed', input: ['a b', 'c'] });
    expect(second.headers.get('x-gatehouse-cache')).toBe('hit');
    expect(second.body).toEqual(first.body);
    await post('/v1/completions', { model: 'complete', prompt: 'say hi', temperature: 0 });
    const completion = await post('/v1/completions', { model: 'complete', prompt: 'say hi', temperature: 0 });
    expect(completion.headers.get('x-gatehouse-cache')).toBe('hit');
    expect(completion.body.choices[0].text).toBe('echo: say hi');
    expect(upstreamCalls()).toBe(before + 2);
  });

  it('expires entries after ttl_seconds', async () => {
    const before = upstreamCalls();
    expect((await chat('short', 'expiring')).headers.get('x-gatehouse-cache')).toBe('miss');
    expect((await chat('short', 'expiring')).headers.get('x-gatehouse-cache')).toBe('hit');
    await sleep(1_200);
    expect((await chat('short', 'expiring')).headers.get('x-gatehouse-cache')).toBe('miss');
    expect(upstreamCalls()).toBe(before + 2);
  });

  it('never caches errors or streams that failed midway', async () => {
    const before = upstreamCalls();
    expect((await chat('broken', 'fail')).status).toBe(502);
    expect((await chat('broken', 'fail')).status).toBe(502);
    expect(upstreamCalls()).toBe(before + 2);
    const cut = await chat('cut', 'one two three four', { stream: true });
    expect(cut.status).toBe(200);
    expect(cut.text).toContain('"error"');
    const again = await chat('cut', 'one two three four', { stream: true });
    expect(again.headers.get('x-gatehouse-cache')).toBe('miss');
    expect(upstreamCalls()).toBe(before + 4);
  });

  it('releases identical waiting requests at once when the first one fails upstream', async () => {
    const before = upstreamCalls();
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 4 }, () => chat('broken', 'fail together')));
    expect(answers.map((a) => a.status)).toEqual([502, 502, 502, 502]);
    // Errors are never shared: each request made its own call, one after the other, none waited 30 s.
    expect(upstreamCalls()).toBe(before + 4);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('replays a completed stream chunk for chunk, as the openai SDK parses it', async () => {
    const params = {
      model: 'chat',
      messages: [{ role: 'user' as const, content: 'stream me please' }],
      temperature: 0,
      stream: true as const,
      stream_options: { include_usage: true },
    };
    const before = upstreamCalls();
    const collect = async () => {
      const { data, response } = await client.chat.completions.create(params).withResponse();
      const chunks = [];
      for await (const chunk of data) chunks.push(chunk);
      return { chunks, status: response.headers.get('x-gatehouse-cache') };
    };
    const original = await collect();
    const replayed = await collect();
    expect(original.status).toBe('miss');
    expect(replayed.status).toBe('hit');
    expect(original.chunks.length).toBeGreaterThanOrEqual(5);
    expect(replayed.chunks).toEqual(original.chunks);
    expect(replayed.chunks.at(-1)?.usage).toEqual({
      prompt_tokens: 3,
      completion_tokens: 4,
      total_tokens: 7,
    });
    expect(upstreamCalls()).toBe(before + 1);

    // Raw SSE: same framing as a live stream, ending with [DONE].
    const raw = await chat('chat', 'stream me please', { stream: true });
    expect(raw.headers.get('x-gatehouse-cache')).toBe('hit');
    expect(raw.headers.get('content-type')).toContain('text/event-stream');
    expect(raw.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(raw.text).not.toContain('"usage"');

    // A JSON request is assembled from the stream's chunks.
    const json = await chat('chat', 'stream me please');
    expect(json.headers.get('x-gatehouse-cache')).toBe('hit');
    expect(json.body.choices[0].message.content).toBe('echo: stream me please');
    expect(json.body.choices[0].finish_reason).toBe('stop');
    expect(json.body.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(upstreamCalls()).toBe(before + 1);
  });

  it('streams a cached JSON answer in the OpenAI chunk format', async () => {
    const before = upstreamCalls();
    const json = await chat('chat', 'json first then stream');
    const stream = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'json first then stream' }],
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(json.body.choices[0].message.content);
    expect(finish).toBe('stop');
    expect(usage).toEqual(json.body.usage);
    expect(upstreamCalls()).toBe(before + 1);
  });

  it('makes one upstream call for 100 identical concurrent requests', async () => {
    const before = upstreamCalls();
    const answers = await Promise.all(Array.from({ length: 100 }, () => chat('slow', 'everyone at once')));
    expect(upstreamCalls()).toBe(before + 1);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.every((a) => a.body.choices[0].message.content === 'echo: everyone at once')).toBe(true);
    const statuses = answers.map((a) => a.headers.get('x-gatehouse-cache'));
    expect(statuses.filter((s) => s === 'miss')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'hit')).toHaveLength(99);
    const stats = await fetch(`${gateway.url}/admin/v1/cache/stats`, { headers: gateway.authHeaders() });
    const counters = (await stats.json()) as Record<string, unknown>;
    expect(counters.store).toBe('redis');
    expect(counters.shared_hits).toBeGreaterThanOrEqual(99);
  });

  it('invalidates by endpoint, by team and all, through the admin API', async () => {
    const admin = (body: unknown) => post('/admin/v1/cache/invalidations', body);
    await chat('chat', 'to be invalidated');
    await post('/v1/embeddings', { model: 'embed', input: 'kept' });
    const byEndpoint = await admin({ endpoint: 'chat' });
    expect(byEndpoint.status).toBe(200);
    expect(byEndpoint.body.deleted).toBeGreaterThanOrEqual(1);
    expect((await chat('chat', 'to be invalidated')).headers.get('x-gatehouse-cache')).toBe('miss');
    expect(
      (await post('/v1/embeddings', { model: 'embed', input: 'kept' })).headers.get('x-gatehouse-cache'),
    ).toBe('hit');
    // Entries are scoped to the caller's team: the test's admin key belongs to the bootstrap team.
    const me = (await (
      await fetch(`${gateway.url}/admin/v1/me`, { headers: gateway.authHeaders() })
    ).json()) as {
      teamId: string | null;
    };
    const otherTeam = await admin({ team_id: 'someone-else' });
    expect(otherTeam.body).toEqual({ deleted: 0 });
    const ownTeam = await admin({ team_id: me.teamId });
    expect(ownTeam.body.deleted).toBeGreaterThanOrEqual(2);
    expect(
      (await post('/v1/embeddings', { model: 'embed', input: 'kept' })).headers.get('x-gatehouse-cache'),
    ).toBe('miss');
    const all = await admin({ all: true });
    expect(all.body.deleted).toBeGreaterThanOrEqual(1);
    expect(await redisKeys(prefix)).toBe(0);

    const empty = await admin({});
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ statusCode: 400, code: 'invalid_request' });
    expect((await admin({ all: true, endpoint: 'chat' })).status).toBe(400);
    expect((await admin({ endpoint: 'chat', flush: true })).status).toBe(400);
  });

  it('overrides an endpoint policy through the admin API', async () => {
    const url = `${gateway.url}/admin/v1/cache/policies/plain`;
    const headers = { 'content-type': 'application/json', ...gateway.authHeaders() };
    const put = await fetch(url, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ ttl_seconds: 120, scope: 'global' }),
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({
      endpoint: 'plain',
      source: 'override',
      policy: { enabled: true, ttl_seconds: 120, scope: 'global', requests: 'deterministic' },
    });
    expect((await chat('plain', 'now cached')).headers.get('x-gatehouse-cache')).toBe('miss');
    expect((await chat('plain', 'now cached')).headers.get('x-gatehouse-cache')).toBe('hit');

    const list = await fetch(`${gateway.url}/admin/v1/cache/policies`, { headers: gateway.authHeaders() });
    const policies = (await list.json()) as { endpoint: string; source: string }[];
    expect(policies.find((p) => p.endpoint === 'chat')?.source).toBe('yaml');
    expect(policies.find((p) => p.endpoint === 'plain')?.source).toBe('override');

    const removed = await fetch(url, { method: 'DELETE', headers: gateway.authHeaders() });
    expect(((await removed.json()) as { source: string }).source).toBe('default');
    expect((await chat('plain', 'now cached')).headers.get('x-gatehouse-cache')).toBeNull();

    const unknown = await fetch(`${gateway.url}/admin/v1/cache/policies/nope`, {
      method: 'PUT',
      headers,
      body: '{}',
    });
    expect(unknown.status).toBe(404);
    const bad = await fetch(url, { method: 'PUT', headers, body: JSON.stringify({ scope: 'tenant' }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('scope');
  });
});

describe('Response cache when Redis fails', () => {
  let mock: OpenAIMock;
  let proxy: TcpProxy;
  let gateway: TestGateway;
  const prefix = uniqueRedisPrefix('cache-fault');
  const redis = new URL(TEST_REDIS_URL);

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
    gateway = await startGateway(
      `
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url, 'llm/v1/chat', cache('{}'))}
`,
      { env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_KEY_PREFIX: prefix } },
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await proxy?.kill();
    await mock?.close();
    await redisKeys(prefix, true);
  });

  const ask = async (content: string) => {
    const started = performance.now();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify({ model: 'chat', temperature: 0, messages: [{ role: 'user', content }] }),
    });
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    return {
      status: response.status,
      cache: response.headers.get('x-gatehouse-cache'),
      content: body.choices?.[0]?.message.content,
      ms: performance.now() - started,
    };
  };

  it('serves misses within the timeout when Redis hangs, recovers, then serves misses when it is gone', async () => {
    expect((await ask('before the fault')).cache).toBe('miss');
    expect((await ask('before the fault')).cache).toBe('hit');

    // Redis hangs: every command times out after REDIS_COMMAND_TIMEOUT_MS (50 ms).
    proxy.stall();
    const before = mock.requests.length;
    for (const content of ['before the fault', 'during the stall']) {
      const answer = await ask(content);
      expect(answer).toMatchObject({ status: 200, cache: 'miss', content: `echo: ${content}` });
      expect(answer.ms).toBeLessThan(1_000);
    }
    expect(mock.requests.length).toBe(before + 2);

    // Redis answers again (late replies included): hits resume, each with its own answer.
    proxy.resume();
    await sleep(100);
    for (const content of ['before the fault', 'during the stall']) {
      expect(await ask(content)).toMatchObject({ status: 200, cache: 'hit', content: `echo: ${content}` });
    }
    expect(mock.requests.length).toBe(before + 2);

    // Redis is gone: connection refused, nothing queued, requests go straight upstream.
    await proxy.kill();
    for (const content of ['before the fault', 'after the fault', 'after the fault']) {
      const answer = await ask(content);
      expect(answer).toMatchObject({ status: 200, cache: 'miss', content: `echo: ${content}` });
      expect(answer.ms).toBeLessThan(1_000);
    }
    expect(mock.requests.length).toBe(before + 5);
  });
});

describe('Response cache without Redis (in-process LRU)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(
      `
gatehouse:
  cache: { ttl_seconds: 60 }
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('embed', 'text-embedding-3-small', mock.url, 'llm/v1/embeddings')}
`,
      { env: { CACHE_COMPRESS_MIN_BYTES: '64' } },
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  const embed = async (input: string) => {
    const response = await fetch(`${gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify({ model: 'embed', input }),
    });
    return { cache: response.headers.get('x-gatehouse-cache'), body: await response.json() };
  };

  it('caches every endpoint from the top-level defaults and invalidates', async () => {
    const before = mock.requests.length;
    const first = await embed('memory store');
    // Let the background write land, so the second answer comes from the store (not the finished flight).
    await sleep(100);
    const second = await embed('memory store');
    expect([first.cache, second.cache]).toEqual(['miss', 'hit']);
    expect(second.body).toEqual(first.body);
    expect(mock.requests.length).toBe(before + 1);

    const stats = (await (
      await fetch(`${gateway.url}/admin/v1/cache/stats`, { headers: gateway.authHeaders() })
    ).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ store: 'memory', hits: 1, shared_hits: 0, misses: 1, writes: 1 });
    expect(stats.bytes_read).toBe(stats.bytes_written);
    expect(stats.held).toEqual({ entries: 1, bytes: expect.any(Number) });

    const invalidated = await fetch(`${gateway.url}/admin/v1/cache/invalidations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify({ all: true }),
    });
    expect(await invalidated.json()).toEqual({ deleted: 1 });
    expect((await embed('memory store')).cache).toBe('miss');
    expect(mock.requests.length).toBe(before + 2);
  });
});
