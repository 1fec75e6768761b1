import OpenAI from 'openai';
import { ANTHROPIC_MOCK_API_KEY, AnthropicMock, startAnthropicMock } from 'test/mocks/anthropic-mock.server';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';

/** Runs on embedded PGlite: the whole gateway with no database server, as `npm start` does. */
describe('Anthropic through the OpenAI SDK, on embedded PGlite', () => {
  let mock: AnthropicMock;
  let gateway: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    process.env.MOCK_ANTHROPIC_KEY = ANTHROPIC_MOCK_API_KEY;
    mock = await startAnthropicMock();
    const endpoint = (name: string, model: string) => `
  - name: ${name}
    endpoint_type: llm/v1/chat
    model:
      provider: anthropic
      name: ${model}
      config:
        anthropic_api_key: $MOCK_ANTHROPIC_KEY
        anthropic_api_base: ${mock.url}`;
    gateway = await startGateway(
      `endpoints:${endpoint('claude', 'claude-sonnet-4-5')}${endpoint('claude-429', 'mock-429')}${endpoint('claude-cut', 'mock-cut')}${endpoint('claude-err', 'mock-stream-error')}`,
      { embedded: true },
    );
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.apiKey, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('is ready on the embedded database', async () => {
    // Component detail is for operators (the admin key has metrics.read).
    const ready = await fetch(`${gateway.url}/health/ready`, { headers: gateway.authHeaders() });
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; components: { database: { status: string } } };
    expect([body.status, body.components.database.status]).toEqual(['ok', 'ok']);
    expect(gateway.databaseUrl).toBeUndefined();
  });

  it('translates a chat completion both ways', async () => {
    const completion = await client.chat.completions.create({
      model: 'claude',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello from openai' },
      ],
      max_tokens: 100,
      temperature: 1,
    });
    expect(completion.choices[0].message.content).toBe('echo: hello from openai');
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage?.prompt_tokens).toBe(5);
    const upstream = mock.requests[mock.requests.length - 1];
    expect(upstream.headers['x-api-key']).toBe(ANTHROPIC_MOCK_API_KEY);
    expect(upstream.body).toMatchObject({
      model: 'claude-sonnet-4-5',
      system: 'be brief',
      max_tokens: 100,
      temperature: 0.5,
    });
  });

  it('streams Anthropic events as OpenAI chunks ending in [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'stream these words' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('echo: stream these words');
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
  });

  it('turns tool_use into OpenAI tool calls', async () => {
    const completion = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'what is the weather' }],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', parameters: { type: 'object', properties: {} } },
        },
      ],
    });
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    const call = completion.choices[0].message.tool_calls![0];
    expect(call.type).toBe('function');
    expect(JSON.parse(call.type === 'function' ? call.function.arguments : '')).toEqual({
      location: 'Paris',
    });
  });

  it('passes a 429 with Retry-After, and ends a failed stream with an error event', async () => {
    const limited = await client.chat.completions
      .create({ model: 'claude-429', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('7');

    for (const model of ['claude-cut', 'claude-err']) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
        body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'a b c d' }] }),
      });
      const events = (await response.text()).split('\n\n').filter(Boolean);
      expect(events[events.length - 1]).toContain('"error"');
      expect(events).not.toContain('data: [DONE]');
    }
  });

  it('publishes an OpenAPI document that covers every route', async () => {
    const spec = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = new Set(
      Object.entries(spec.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const routes = gateway.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
    expect(routes.length).toBeGreaterThan(0);
    const expected = [
      'POST /v1/chat/completions',
      'POST /v1/completions',
      'POST /v1/embeddings',
      'GET /v1/models',
      'GET /api/2.0/endpoints',
      'GET /api/2.0/endpoints/{name}',
      'POST /endpoints/{name}/invocations',
      'POST /gateway/{name}/invocations',
      'POST /gateway/mlflow/v1/chat/completions',
      'POST /gateway/{name}/mlflow/invocations',
      'GET /health',
      'GET /health/live',
      'GET /health/ready',
      'GET /admin/v1/cache/policies',
      'GET /admin/v1/cache/policies/{endpoint}',
      'PUT /admin/v1/cache/policies/{endpoint}',
      'DELETE /admin/v1/cache/policies/{endpoint}',
      'POST /admin/v1/cache/invalidations',
      'GET /admin/v1/cache/stats',
      'POST /v1/moderations',
      'GET /admin/v1/moderation/policies',
      'GET /admin/v1/moderation/teams/{team}/overrides',
      'PUT /admin/v1/moderation/teams/{team}/overrides/{endpoint}',
      'DELETE /admin/v1/moderation/teams/{team}/overrides/{endpoint}',
      'POST /admin/v1/moderation/dry-run',
      'GET /admin/v1/registry/models',
      'GET /admin/v1/registry/models/{name}/versions',
      'POST /admin/v1/registry/sync',
      'POST /predict/{path}',
      // prompts and conversations (issue 9)
      'GET /admin/v1/prompts',
      'POST /admin/v1/prompts',
      'GET /admin/v1/prompts/{name}',
      'DELETE /admin/v1/prompts/{name}',
      'POST /admin/v1/prompts/{name}/versions',
      'GET /admin/v1/prompts/{name}/versions/{version}',
      'PUT /admin/v1/prompts/{name}/labels/{label}',
      'DELETE /admin/v1/prompts/{name}/labels/{label}',
      'GET /admin/v1/prompts/{name}/diff',
      'POST /admin/v1/prompts/{name}/render',
      'GET /admin/v1/prompt-apis',
      'GET /admin/v1/prompt-apis/{name}',
      'PUT /admin/v1/prompt-apis/{name}',
      'DELETE /admin/v1/prompt-apis/{name}',
      'POST /apis/{name}',
      'GET /v1/conversations',
      'GET /v1/conversations/{id}',
      'DELETE /v1/conversations/{id}',
    ];
    // Every module's routes are documented (the route walk in test/e2e/auth checks their decorators).
    for (const route of expected) expect(documented).toContain(route);
    const docs = await fetch(`${gateway.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });
});
