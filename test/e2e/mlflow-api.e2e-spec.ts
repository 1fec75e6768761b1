import { writeFile } from 'node:fs/promises';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

/** The gateway's admin credentials, set once it has booted. */
let auth: Record<string, string> = {};

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(body),
  });
}

describe('MLflow AI Gateway compatible REST API', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let yaml: string;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    yaml = `
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    limit:\n      calls: 1000\n      renewal_period: minute\n')}
${openaiEndpoint('chat-b', 'gpt-4o', mock.url)}
${openaiEndpoint('completions', 'gpt-3.5-turbo-instruct', mock.url, 'llm/v1/completions')}
${openaiEndpoint('embeddings', 'text-embedding-3-small', mock.url, 'llm/v1/embeddings')}
  - name: claude-embeddings
    endpoint_type: llm/v1/embeddings
    model:
      provider: anthropic
      name: claude-sonnet-4-5
      config:
        anthropic_api_key: a-key
routes:
  - name: split
    task_type: llm/v1/chat
    destinations:
      - name: chat
        traffic_percentage: 50
      - name: chat-b
        traffic_percentage: 50
`;
    gateway = await startGateway(yaml);
    auth = gateway.authHeaders();
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('GET /health answers {"status":"OK"}', async () => {
    const response = await fetch(`${gateway.url}/health`);
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ status: 'OK' });
  });

  it('lists endpoints (not traffic routes) with MLflow fields', async () => {
    const body = await json(await fetch(`${gateway.url}/api/2.0/endpoints/`, { headers: auth }));
    expect(body.next_page_token).toBeUndefined();
    const endpoints = body.endpoints as Record<string, unknown>[];
    expect(endpoints.map((e) => e.name)).toEqual([
      'chat',
      'chat-b',
      'completions',
      'embeddings',
      'claude-embeddings',
    ]);
    expect(endpoints[0]).toEqual({
      name: 'chat',
      endpoint_type: 'llm/v1/chat',
      model: { name: 'gpt-4o-mini', provider: 'openai' },
      endpoint_url: '/gateway/chat/invocations',
      limit: { calls: 1000, key: null, renewal_period: 'minute' },
    });
    expect(endpoints[1].limit).toBeNull();
  });

  it('GET one endpoint, and MLflow 404 text for an unknown one', async () => {
    const one = await json(await fetch(`${gateway.url}/api/2.0/endpoints/embeddings`, { headers: auth }));
    expect(one.endpoint_type).toBe('llm/v1/embeddings');
    const missing = await fetch(`${gateway.url}/api/2.0/endpoints/nope`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({
      detail: "The endpoint 'nope' is not present or active on the server. Please verify the endpoint name.",
    });
  });

  it('rejects a bad page token with MLflow error body', async () => {
    const response = await fetch(
      `${gateway.url}/api/2.0/endpoints/?page_token=${Buffer.from('{"index":-3}').toString('base64')}`,
      { headers: auth },
    );
    expect(response.status).toBe(400);
    const body = (await json(response)) as { detail: { error_code: string; message: string } };
    expect(body.detail.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(body.detail.message).toContain('The index cannot be negative.');
  });

  it('invokes chat, completions and embeddings through /endpoints/{name}/invocations in MLflow shapes', async () => {
    const chat = await json(
      await post(`${gateway.url}/endpoints/chat/invocations`, {
        messages: [{ role: 'user', content: 'hi mlflow' }],
        temperature: 0,
      }),
    );
    expect(chat.object).toBe('chat.completion');
    expect((chat.choices as unknown[])[0]).toEqual({
      index: 0,
      message: { role: 'assistant', content: 'echo: hi mlflow', tool_calls: null, refusal: null },
      finish_reason: 'stop',
    });
    expect(chat.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    expect(chat.provider).toBe('openai');
    expect(chat.system_fingerprint).toBeUndefined();

    const completion = await json(
      await post(`${gateway.url}/gateway/completions/invocations`, { prompt: 'hello', max_tokens: 5 }),
    );
    expect((completion.choices as { text: string }[])[0].text).toBe('echo: hello');

    const embeddings = await json(
      await post(`${gateway.url}/endpoints/embeddings/invocations`, { input: ['a', 'b c'] }),
    );
    expect((embeddings.data as { embedding: number[] }[]).map((d) => d.embedding)).toEqual([
      [0.01, 0.1, 0],
      [0.03, 0.2, 1],
    ]);
  });

  it('invokes a traffic route and splits across its destinations', async () => {
    const models = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const response = await post(`${gateway.url}/gateway/split/invocations`, {
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(response.status).toBe(200);
      models.add(String((await json(response)).model));
    }
    expect([...models].sort()).toEqual(['gpt-4o-2024-07-18', 'gpt-4o-mini-2024-07-18']);
  });

  it('answers unknown invocation paths with {"detail":"Not Found"}', async () => {
    const response = await post(`${gateway.url}/endpoints/unknown/invocations`, { messages: [] });
    expect(response.status).toBe(404);
    expect(await json(response)).toEqual({ detail: 'Not Found' });
  });

  it('answers an invalid body FastAPI-style: 422 with a detail list', async () => {
    const response = await post(`${gateway.url}/endpoints/chat/invocations`, {
      messages: [{ role: 'user', content: 'x' }],
      temperature: 9,
    });
    expect(response.status).toBe(422);
    const body = (await json(response)) as { detail: { loc: unknown[]; msg: string; type: string }[] };
    expect(body.detail[0].loc).toEqual(['body', 'temperature']);
    expect(body.detail[0].msg).toContain('between 0 and 2');
  });

  it('answers 501 for a provider capability that is not implemented, as MLflow does', async () => {
    const response = await post(`${gateway.url}/endpoints/claude-embeddings/invocations`, {
      input: ['x'],
    });
    expect(response.status).toBe(501);
    expect(await json(response)).toEqual({
      detail: 'The embeddings route is not implemented for Anthropic models.',
    });
  });

  it('streams MLflow invocations as SSE without a [DONE] sentinel', async () => {
    const response = await post(`${gateway.url}/endpoints/chat/invocations`, {
      messages: [{ role: 'user', content: 'a b' }],
      stream: true,
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = (await response.text()).split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: {'))).toBe(true);
    const text = events
      .map(
        (e) =>
          (JSON.parse(e.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta
            .content ?? '',
      )
      .join('');
    expect(text).toBe('echo: a b');
  });

  it('serves the MLflow 3.x OpenAI chat path with its own error texts', async () => {
    const ok = await json(
      await post(`${gateway.url}/gateway/mlflow/v1/chat/completions`, {
        model: 'chat',
        messages: [{ role: 'user', content: 'judge me' }],
      }),
    );
    expect((ok.choices as { message: { content: string } }[])[0].message.content).toBe('echo: judge me');
    const missing = await post(`${gateway.url}/gateway/mlflow/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(missing.status).toBe(400);
    expect(await json(missing)).toEqual({ detail: "Missing required 'model' parameter in request body" });
    const invalid = await post(`${gateway.url}/gateway/mlflow/v1/chat/completions`, {
      model: 'chat',
      messages: [],
    });
    expect(invalid.status).toBe(400);
    expect(String((await json(invalid)).detail)).toMatch(/^Invalid chat payload: /);
    const unified = await json(
      await post(`${gateway.url}/gateway/embeddings/mlflow/invocations`, { input: 'x' }),
    );
    expect(unified.object).toBe('list');
  });

  it('applies a valid YAML edit without a restart and keeps the running config on an invalid one', async () => {
    await writeFile(
      gateway.configPath,
      yaml.replace('routes:', `${openaiEndpoint('added', 'gpt-4.1', mock.url)}\nroutes:`),
    );
    await waitFor(
      async () => (await fetch(`${gateway.url}/api/2.0/endpoints/added`, { headers: auth })).status === 200,
      5000,
    );
    const added = await json(
      await post(`${gateway.url}/endpoints/added/invocations`, {
        messages: [{ role: 'user', content: 'new' }],
      }),
    );
    expect(added.model).toBe('gpt-4.1-2024-07-18');

    await writeFile(gateway.configPath, 'endpoints:\n  - name: "bad name"\n    endpoint_type: llm/v1/chat\n');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await fetch(`${gateway.url}/api/2.0/endpoints/added`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${gateway.url}/api/2.0/endpoints/chat`, { headers: auth })).status).toBe(200);
  });
});
