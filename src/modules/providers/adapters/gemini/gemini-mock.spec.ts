import {
  CanonicalChunk,
  CanonicalRequest,
  ChatCompletion,
  ChatCompletionChunk,
  Embeddings,
  Operation,
  ProviderAdapter,
  TargetContext,
  TextCompletion,
} from 'src/modules/providers/provider-adapter';
import { SseParser } from 'src/modules/providers/sse-parser';
import { GeminiAdapter } from 'src/modules/providers/adapters/gemini/gemini.adapter';
import { VertexAIAdapter } from 'src/modules/providers/adapters/vertex-ai/vertex-ai.adapter';
import { clearTokenSources } from 'src/modules/providers/adapters/vertex-ai/vertex-credentials';
import { embeddingOf, GeminiMock, startGeminiMock } from 'test/mocks/gemini-mock.server';
import { GoogleTokenMock, startGoogleTokenMock } from 'test/mocks/google-token.server';

/** Drives the local Gemini/Vertex mock with the adapters' own requests: adapters and mock agree on the wire. */

let tokens: GoogleTokenMock;
let mock: GeminiMock;

beforeAll(async () => {
  tokens = await startGoogleTokenMock();
  mock = await startGeminiMock({
    vertex: { project: 'mock-project', location: 'us-central1', isValidToken: (t) => tokens.isValid(t) },
  });
});

afterAll(async () => {
  await mock.close();
  await tokens.close();
  clearTokenSources();
});

const gemini: ProviderAdapter = new GeminiAdapter();
const vertex: ProviderAdapter = new VertexAIAdapter();

function geminiTarget(model: string): TargetContext {
  return {
    endpointName: 'g',
    endpointType: 'llm/v1/chat',
    modelName: model,
    config: gemini.parseConfig({ gemini_api_key: mock.apiKey, gemini_api_base: mock.url }, 'gemini', model),
  };
}

function vertexTarget(model: string, credentials = tokens.serviceAccountJson): TargetContext {
  return {
    endpointName: 'v',
    endpointType: 'llm/v1/chat',
    modelName: model,
    config: vertex.parseConfig(
      {
        vertex_project: 'mock-project',
        vertex_location: 'us-central1',
        vertex_credentials: credentials,
        vertex_api_base: mock.url,
      },
      'vertex-ai',
      model,
    ),
  };
}

async function send(
  adapter: ProviderAdapter,
  target: TargetContext,
  op: Operation,
  request: CanonicalRequest,
  stream = false,
): Promise<Response> {
  let upstream = adapter.buildRequest(op, request, target, stream);
  if (adapter.authorize) upstream = await adapter.authorize(upstream, target);
  return fetch(upstream.url, { method: upstream.method, headers: upstream.headers, body: upstream.body });
}

async function ok<T>(
  adapter: ProviderAdapter,
  target: TargetContext,
  op: Operation,
  request: CanonicalRequest,
): Promise<T> {
  const response = await send(adapter, target, op, request);
  expect(response.status).toBe(200);
  return adapter.parseResponse(op, await response.json(), target, request) as T;
}

async function streamed(
  adapter: ProviderAdapter,
  target: TargetContext,
  op: Operation,
  request: CanonicalRequest,
): Promise<{ chunks: CanonicalChunk[]; finished: boolean }> {
  const response = await send(adapter, target, op, request, true);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const parser = new SseParser();
  const translator = adapter.createStreamTranslator(op, target);
  const chunks: CanonicalChunk[] = [];
  for (const event of [...parser.feed(await response.text()), ...parser.end()]) {
    const step = translator.push(event);
    expect(step.error).toBeUndefined();
    chunks.push(...step.chunks);
  }
  return { chunks, finished: translator.finished };
}

const tools = [
  {
    type: 'function',
    function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: {} } },
  },
];

describe.each([
  ['gemini', () => gemini, () => geminiTarget('gemini-2.0-flash')],
  ['vertex-ai', () => vertex, () => vertexTarget('gemini-2.0-flash-001')],
] as const)('%s against the mock', (_name, adapterOf, targetOf) => {
  it('chats with a system instruction, counting usage as the mock does', async () => {
    const completion = await ok<ChatCompletion>(adapterOf(), targetOf(), 'chat', {
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello there gemini' },
      ],
      max_tokens: 50,
    });
    expect(completion.choices[0]).toMatchObject({
      message: { role: 'assistant', content: 'echo: hello there gemini' },
      finish_reason: 'stop',
    });
    expect(completion.usage).toEqual({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
  });

  it('round-trips a function call and its result', async () => {
    const first = await ok<ChatCompletion>(adapterOf(), targetOf(), 'chat', {
      messages: [{ role: 'user', content: 'what is the weather' }],
      tools,
    });
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    const call = first.choices[0].message.tool_calls![0];
    expect(call.function).toEqual({ name: 'get_weather', arguments: '{"location":"Paris"}' });
    const second = await ok<ChatCompletion>(adapterOf(), targetOf(), 'chat', {
      messages: [
        { role: 'user', content: 'what is the weather' },
        first.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: '{"celsius":21}' },
      ],
      tools,
    });
    expect(second.choices[0].message.content).toBe('echo: {"celsius":21}');
  });

  it('streams text deltas that add up to the reply, then usage', async () => {
    const { chunks, finished } = await streamed(adapterOf(), targetOf(), 'chat', {
      messages: [{ role: 'user', content: 'one two three four' }],
    });
    expect(finished).toBe(true);
    const chat = chunks as ChatCompletionChunk[];
    const text = chat
      .map((c) => c.choices[0]?.delta.content)
      .filter((t): t is string => typeof t === 'string')
      .join('');
    expect(text).toBe('echo: one two three four');
    expect(chat.filter((c) => c.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
    expect(chat[chat.length - 1].usage).toEqual({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });
  });

  it('streams completions and honours maxOutputTokens', async () => {
    const { chunks } = await streamed(adapterOf(), targetOf(), 'completions', {
      prompt: 'a b c d e',
      max_tokens: 3,
    });
    const texts = chunks as TextCompletion[];
    expect(texts.map((c) => c.choices[0]?.text ?? '').join('')).toBe('echo: a b');
    expect(texts.some((c) => c.choices[0]?.finish_reason === 'length')).toBe(true);
  });

  it('maps a 429 to Google status RESOURCE_EXHAUSTED with its message', async () => {
    const adapter = adapterOf();
    const model = 'mock-429';
    const target = adapter === gemini ? geminiTarget(model) : vertexTarget(model);
    const response = await send(adapter, target, 'chat', { messages: [{ role: 'user', content: 'x' }] });
    expect(response.status).toBe(429);
    expect(adapter.parseError(429, await response.json())).toEqual({
      message: 'You exceeded your current quota, please check your plan and billing details.',
      type: 'RESOURCE_EXHAUSTED',
    });
  });
});

describe('embeddings against the mock', () => {
  it('gemini: one text by embedContent, several by batchEmbedContents', async () => {
    const target = geminiTarget('text-embedding-004');
    const one = await ok<Embeddings>(gemini, target, 'embeddings', { input: 'hello', dimensions: 3 });
    expect(one.data).toEqual([{ object: 'embedding', embedding: embeddingOf('hello', 3), index: 0 }]);
    const many = await ok<Embeddings>(gemini, target, 'embeddings', { input: ['a', 'bb'] });
    expect(many.data.map((d) => d.embedding)).toEqual([embeddingOf('a', 4), embeddingOf('bb', 4)]);
    expect(mock.requests.slice(-2).map((r) => r.path)).toEqual([
      '/v1beta/models/text-embedding-004:embedContent',
      '/v1beta/models/text-embedding-004:batchEmbedContents',
    ]);
  });

  it('vertex-ai: the predict API, with token counts', async () => {
    const result = await ok<Embeddings>(vertex, vertexTarget('text-embedding-005'), 'embeddings', {
      input: ['one two', 'three'],
    });
    expect(result.data.map((d) => d.embedding)).toEqual([embeddingOf('one two', 4), embeddingOf('three', 4)]);
    expect(result.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });
});

describe('the mock itself', () => {
  it('refuses a wrong API key and an unknown field as Google does', async () => {
    const target = geminiTarget('gemini-2.0-flash');
    const upstream = gemini.buildRequest(
      'chat',
      { messages: [{ role: 'user', content: 'x' }] },
      target,
      false,
    );
    const badKey = await fetch(upstream.url, {
      method: 'POST',
      headers: { ...upstream.headers, 'x-goog-api-key': 'wrong' },
      body: upstream.body,
    });
    expect(badKey.status).toBe(400);
    expect(await badKey.json()).toEqual({
      error: {
        code: 400,
        message: 'API key not valid. Please pass a valid API key.',
        status: 'INVALID_ARGUMENT',
      },
    });
    const unknown = await fetch(upstream.url, {
      method: 'POST',
      headers: upstream.headers,
      body: JSON.stringify({ ...JSON.parse(upstream.body), max_tokens: 3 }),
    });
    expect(unknown.status).toBe(400);
  });

  it('streams a JSON array without alt=sse, and refuses Vertex calls without a valid token', async () => {
    const target = geminiTarget('gemini-2.0-flash');
    const upstream = gemini.buildRequest(
      'chat',
      { messages: [{ role: 'user', content: 'a b' }] },
      target,
      true,
    );
    const array = await fetch(upstream.url.replace('?alt=sse', ''), {
      method: 'POST',
      headers: upstream.headers,
      body: upstream.body,
    });
    const events = (await array.json()) as { candidates: { content: { parts: { text: string }[] } }[] }[];
    expect(events.map((e) => e.candidates[0].content.parts[0].text).join('')).toBe('echo: a b');

    const vt = vertexTarget('gemini-2.0-flash-001');
    const unsigned = vertex.buildRequest('chat', { messages: [{ role: 'user', content: 'x' }] }, vt, false);
    const refused = await fetch(unsigned.url, {
      method: 'POST',
      headers: unsigned.headers,
      body: unsigned.body,
    });
    expect(refused.status).toBe(401);
    expect(vertex.parseError(401, await refused.json()).type).toBe('UNAUTHENTICATED');
  });
});
