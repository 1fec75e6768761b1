import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const OUTPUT_SCHEMA = {
  type: 'object',
  properties: {
    summary: { type: 'string', minLength: 1 },
    words: { type: 'integer', minimum: 0 },
  },
  required: ['summary', 'words'],
  additionalProperties: false,
};

describe('Prompts published as REST APIs (PostgreSQL)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        ...gateway.authHeaders(),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: (text ? JSON.parse(text) : null) as Json,
    };
  };

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('json-model', 'mock-verbatim', mock.url)}
${openaiEndpoint('flaky-model', 'mock-verbatim-on-retry', mock.url)}
${openaiEndpoint('echo-model', 'gpt-4o-mini', mock.url)}
  - name: compat-json
    endpoint_type: llm/v1/chat
    model:
      provider: vllm
      name: mock-verbatim
      config:
        api_key: $MOCK_OPENAI_KEY
        api_base: ${mock.url}/v1
${openaiEndpoint('embed', 'text-embedding-3-small', mock.url, 'llm/v1/embeddings')}
`);
    const created = await call('POST', '/admin/v1/prompts', {
      name: 'summarize',
      messages: [
        { role: 'system', content: 'Summarise the text as JSON.' },
        { role: 'user', content: '{{text}}' },
      ],
      variables: [{ name: 'text', type: 'string', max_length: 2000, description: 'Text to summarise' }],
      labels: ['production'],
    });
    expect(created.status).toBe(201);
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  const publish = (name: string, endpoint: string, extra: Json = {}) =>
    call('PUT', `/admin/v1/prompt-apis/${name}`, {
      template: 'summarize',
      endpoint,
      output_schema: OUTPUT_SCHEMA,
      ...extra,
    });

  it('publishes an API and returns the validated JSON, using the provider’s structured-output mode', async () => {
    const published = await publish('summary', 'json-model', { description: 'Summarise a text' });
    expect(published.status).toBe(200);
    expect(published.body).toMatchObject({ name: 'summary', path: '/apis/summary', label: 'production' });

    const before = mock.requests.length;
    const result = await call('POST', '/apis/summary', { text: '{"summary":"short","words":1}' });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ summary: 'short', words: 1 });
    expect(result.headers.get('x-gatehouse-prompt-version')).toBe('1');
    expect(result.headers.get('x-gatehouse-attempts')).toBe('1');
    expect(mock.requests.length - before).toBe(1);
    const upstream = mock.requests[before].body as Json;
    expect(upstream.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'summary', schema: OUTPUT_SCHEMA, strict: false },
    });
    expect(upstream.stream).not.toBe(true);
  });

  it('retries once on output that does not parse, then succeeds', async () => {
    expect((await publish('summary-flaky', 'flaky-model')).status).toBe(200);
    const before = mock.requests.length;
    const result = await call('POST', '/apis/summary-flaky', { text: '{"summary":"ok","words":2}' });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ summary: 'ok', words: 2 });
    expect(result.headers.get('x-gatehouse-attempts')).toBe('2');
    expect(mock.requests.length - before).toBe(2);
    const retry = mock.requests[before + 1].body as Json;
    const roles = (retry.messages as Json[]).map((m) => String(m.role));
    expect(roles).toEqual(['system', 'user', 'assistant', 'user']);
    expect(String((retry.messages as Json[])[3].content)).toContain('not valid JSON');
  });

  it('answers 502 output_validation_failed when the output breaks the schema twice', async () => {
    const before = mock.requests.length;
    const result = await call('POST', '/apis/summary', { text: '{"summary":"","words":-3}' });
    expect(result.status).toBe(502);
    expect(result.body).toMatchObject({ code: 'output_validation_failed' });
    expect(result.body.message).toContain('/words must be >= 0');
    expect(mock.requests.length - before).toBe(2);
  });

  it('falls back to an instruction when the provider has no structured-output mode', async () => {
    expect((await publish('summary-compat', 'compat-json')).status).toBe(200);
    const before = mock.requests.length;
    const result = await call('POST', '/apis/summary-compat', { text: '{"summary":"s","words":0}' });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ summary: 's', words: 0 });
    const upstream = mock.requests[before].body as Json;
    expect(upstream.response_format).toBeUndefined();
    const messages = upstream.messages as Json[];
    expect(messages.map((m) => String(m.role))).toEqual(['system', 'system', 'user']);
    expect(String(messages[1].content)).toContain('"required":["summary","words"]');
  });

  it('returns {"text"} for an API without an output schema', async () => {
    expect((await publish('plain', 'echo-model', { output_schema: null })).status).toBe(200);
    const result = await call('POST', '/apis/plain', { text: 'hello world' });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ text: 'echo: hello world' });
  });

  it('rejects bad variables, unknown APIs and bad publications without calling upstream', async () => {
    const before = mock.requests.length;
    expect((await call('POST', '/apis/summary', { text: 'x', other: 1 })).status).toBe(400);
    expect((await call('POST', '/apis/summary', {})).status).toBe(400);
    expect((await call('POST', '/apis/summary', { text: 'x'.repeat(2001) })).status).toBe(400);
    expect((await call('POST', '/apis/summary', [1])).status).toBe(400);
    expect((await call('POST', '/apis/nope', { text: 'x' })).status).toBe(404);
    expect(mock.requests.length).toBe(before);
    expect((await publish('bad', 'embed')).status).toBe(400);
    expect((await publish('bad', 'missing')).status).toBe(400);
    expect((await publish('bad', 'json-model', { label: 'canary' })).status).toBe(400);
    expect((await publish('bad', 'json-model', { output_schema: { type: 'nonsense' } })).status).toBe(400);
  });

  it('lists every published API in /openapi.json with its own request and response schema', async () => {
    const doc = (await call('GET', '/openapi.json')).body;
    const path = doc.paths['/apis/summary'].post as Json;
    expect(path.summary).toBe('Summarise a text');
    expect(path.requestBody.content['application/json'].schema).toEqual({
      type: 'object',
      properties: { text: { type: 'string', maxLength: 2000, description: 'Text to summarise' } },
      additionalProperties: false,
      required: ['text'],
    });
    expect(path.responses['200'].content['application/json'].schema).toEqual(OUTPUT_SCHEMA);
    expect(doc.paths['/apis/plain'].post.responses['200'].content['application/json'].schema).toEqual({
      type: 'object',
      properties: { text: { type: 'string' } },
      required: ['text'],
    });
    expect(doc.paths['/apis/{name}']).toBeDefined();

    expect((await call('DELETE', '/admin/v1/prompt-apis/plain')).status).toBe(204);
    expect((await call('POST', '/apis/plain', { text: 'x' })).status).toBe(404);
    const after = (await call('GET', '/openapi.json')).body;
    expect(after.paths['/apis/plain']).toBeUndefined();
    const names = (await call('GET', '/admin/v1/prompt-apis')).body.map((a: Json) => String(a.name));
    expect(names).toEqual(['summary', 'summary-compat', 'summary-flaky']);
  });
});
