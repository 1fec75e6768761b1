import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import {
  embeddingOf,
  GEMINI_MOCK_API_KEY,
  GeminiMock,
  MOCK_THOUGHT_SIGNATURE,
  startGeminiMock,
} from 'test/mocks/gemini-mock.server';
import { GoogleTokenMock, startGoogleTokenMock } from 'test/mocks/google-token.server';
import { call } from 'test/e2e/support/admin-client';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';

jest.setTimeout(60_000);

const tools: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather in a city',
      parameters: { type: 'object', properties: {} },
    },
  },
];

/** Gemini (gateway.yaml) and Vertex AI (gateway.yaml and the admin API) through the real app, against local Google mocks. */
describe('Gemini and Vertex AI providers', () => {
  let tokens: GoogleTokenMock;
  let mock: GeminiMock;
  let gateway: TestGateway;
  let client: OpenAI;

  const gemini = (name: string, model: string, type = 'llm/v1/chat') => `
  - name: ${name}
    endpoint_type: ${type}
    model:
      provider: gemini
      name: ${model}
      config:
        gemini_api_key: $MOCK_GEMINI_KEY
        gemini_api_base: ${mock.url}`;

  beforeAll(async () => {
    tokens = await startGoogleTokenMock();
    mock = await startGeminiMock({
      vertex: { project: 'mock-project', location: 'us-central1', isValidToken: (t) => tokens.isValid(t) },
    });
    process.env.MOCK_GEMINI_KEY = GEMINI_MOCK_API_KEY;
    process.env.MOCK_VERTEX_SA = tokens.serviceAccountJson;
    const yaml = `endpoints:${gemini('gemini', 'gemini-2.0-flash')}${gemini('gemini-3', 'gemini-3-pro-preview')}${gemini('gemini-429', 'mock-429')}${gemini(
      'gemini-stream-error',
      'mock-stream-error',
    )}${gemini('gemini-complete', 'gemini-2.0-flash', 'llm/v1/completions')}${gemini(
      'gemini-embed',
      'text-embedding-004',
      'llm/v1/embeddings',
    )}
  - name: vertex-embed
    endpoint_type: llm/v1/embeddings
    model:
      provider: vertex_ai
      name: text-embedding-005
      config:
        vertex_project: mock-project
        vertex_location: us-central1
        vertex_credentials: $MOCK_VERTEX_SA
        vertex_api_base: ${mock.url}
`;
    gateway = await startGateway(yaml, { env: { GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64') } });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.apiKey, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
    await tokens?.close();
  });

  const lastUpstream = () => mock.requests[mock.requests.length - 1];

  describe('gemini from gateway.yaml', () => {
    it('answers a chat with x-goog-api-key upstream, Gemini usage as OpenAI usage', async () => {
      const completion = await client.chat.completions.create({
        model: 'gemini',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hello from openai' },
        ],
        max_tokens: 100,
        temperature: 0.5,
      });
      expect(completion.choices[0].message.content).toBe('echo: hello from openai');
      expect(completion.choices[0].finish_reason).toBe('stop');
      expect(completion.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
      const upstream = lastUpstream();
      expect(upstream.path).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
      expect(upstream.headers['x-goog-api-key']).toBe(GEMINI_MOCK_API_KEY);
      expect(upstream.body).toEqual({
        contents: [{ role: 'user', parts: [{ text: 'hello from openai' }] }],
        systemInstruction: { parts: [{ text: 'be brief' }] },
        generationConfig: { temperature: 0.5, maxOutputTokens: 100 },
      });
    });

    it('streams alt=sse events as OpenAI chunks ending in [DONE], with usage', async () => {
      const stream = await client.chat.completions.create({
        model: 'gemini',
        messages: [{ role: 'user', content: 'stream these four words' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe('echo: stream these four words');
      expect(usage).toEqual({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });
      expect(lastUpstream().path).toBe('/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse');
    });

    it('turns functionCall into tool_calls and sends the result back as functionResponse', async () => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [
        { role: 'user', content: 'what is the weather' },
      ];
      const first = await client.chat.completions.create({ model: 'gemini', messages, tools });
      expect(first.choices[0].finish_reason).toBe('tool_calls');
      const toolCall = first.choices[0].message.tool_calls![0];
      expect(toolCall.type === 'function' && toolCall.function).toEqual({
        name: 'get_weather',
        arguments: '{"location":"Paris"}',
      });
      const second = await client.chat.completions.create({
        model: 'gemini',
        tools,
        messages: [
          ...messages,
          first.choices[0].message,
          { role: 'tool', tool_call_id: toolCall.id, content: '{"celsius":21}' },
        ],
      });
      expect(second.choices[0].message.content).toBe('echo: {"celsius":21}');
      const contents = (lastUpstream().body as { contents: unknown[] }).contents;
      expect(contents.slice(1)).toEqual([
        {
          role: 'model',
          parts: [{ functionCall: { id: toolCall.id, name: 'get_weather', args: { location: 'Paris' } } }],
        },
        {
          role: 'user',
          parts: [{ functionResponse: { id: toolCall.id, name: 'get_weather', response: { celsius: 21 } } }],
        },
      ]);
    });

    it('carries a Gemini 3 thought signature through a tool round trip', async () => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'weather in Paris' }];
      const first = await client.chat.completions.create({ model: 'gemini-3', messages, tools });
      const toolCall = first.choices[0].message.tool_calls![0];
      const second = await client.chat.completions.create({
        model: 'gemini-3',
        tools,
        messages: [
          ...messages,
          first.choices[0].message,
          { role: 'tool', tool_call_id: toolCall.id, content: 'mild' },
        ],
      });
      expect(second.choices[0].message.content).toBe('echo: {"result":"mild"}');
      const modelTurn = (lastUpstream().body as { contents: { parts: unknown[] }[] }).contents[1];
      expect(modelTurn.parts[0]).toMatchObject({ thoughtSignature: MOCK_THOUGHT_SIGNATURE });
    });

    it('streams a tool call', async () => {
      const stream = await client.chat.completions.create({
        model: 'gemini',
        messages: [{ role: 'user', content: 'weather please' }],
        tools,
        stream: true,
      });
      const calls: string[] = [];
      let finish: string | null = null;
      for await (const chunk of stream) {
        for (const call of chunk.choices[0]?.delta.tool_calls ?? []) calls.push(call.function?.name ?? '');
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(calls).toEqual(['get_weather']);
      expect(finish).toBe('tool_calls');
    });

    it('serves completions and embeddings (the SDK asks for base64 and decodes it)', async () => {
      const completion = await client.completions.create({
        model: 'gemini-complete',
        prompt: 'a b c d',
        max_tokens: 2,
      });
      expect(completion.choices[0]).toMatchObject({ text: 'echo: a', finish_reason: 'length' });
      const embeddings = await client.embeddings.create({ model: 'gemini-embed', input: ['alpha', 'beta'] });
      const expected = [embeddingOf('alpha', 4), embeddingOf('beta', 4)];
      embeddings.data.forEach((item, i) =>
        item.embedding.forEach((value, j) => expect(value).toBeCloseTo(expected[i][j], 6)),
      );
      expect(lastUpstream().path).toBe('/v1beta/models/text-embedding-004:batchEmbedContents');
    });

    it('maps an upstream 429 to 429 and an upstream 400 to 400 with Google’s message', async () => {
      const limited = await client.chat.completions
        .create({ model: 'gemini-429', messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
      expect((limited as InstanceType<typeof OpenAI.RateLimitError>).message).toContain(
        'You exceeded your current quota',
      );

      const invalid = await client.chat.completions
        .create({ model: 'gemini', messages: [{ role: 'user', content: 'x' }], max_tokens: 100_000 })
        .catch((e: unknown) => e);
      expect(invalid).toBeInstanceOf(OpenAI.BadRequestError);
      expect((invalid as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400);
      expect((invalid as InstanceType<typeof OpenAI.BadRequestError>).message).toContain(
        'maxOutputTokens value of 100000',
      );
    });

    it('refuses a Gemini-spelled parameter with 422 and ends a failed stream with an error event', async () => {
      const refused = await call(gateway.url, 'POST', '/v1/chat/completions', gateway.authHeaders(), {
        model: 'gemini',
        messages: [{ role: 'user', content: 'x' }],
        topK: 3,
      });
      expect(refused.status).toBe(422);
      expect(refused.body.error.message).toBe('Invalid parameter topK. Use top_k instead.');

      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
        body: JSON.stringify({
          model: 'gemini-stream-error',
          stream: true,
          messages: [{ role: 'user', content: 'a b c' }],
        }),
      });
      const events = (await response.text()).split('\n\n').filter(Boolean);
      expect(events[0]).toContain('echo: ');
      expect(events[events.length - 1]).toContain('The model is overloaded');
      expect(events).not.toContain('data: [DONE]');
    });

    it('answers MLflow invocations', async () => {
      const response = await call(
        gateway.url,
        'POST',
        '/endpoints/gemini/invocations',
        gateway.authHeaders(),
        {
          messages: [{ role: 'user', content: 'via mlflow' }],
        },
      );
      expect(response.status).toBe(200);
      expect(response.body.choices[0].message.content).toBe('echo: via mlflow');
    });
  });

  describe('vertex_ai', () => {
    it('refuses a literal service-account key through the admin API', async () => {
      const response = await call(gateway.url, 'POST', '/admin/v1/endpoints', gateway.authHeaders(), {
        name: 'vertex-literal',
        endpoint_type: 'llm/v1/chat',
        model: {
          provider: 'vertex_ai',
          name: 'gemini-2.0-flash-001',
          config: { vertex_project: 'mock-project', vertex_credentials: tokens.serviceAccountJson },
        },
      });
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.body)).toContain('vertex_credentials');
      expect(JSON.stringify(response.body)).not.toContain('PRIVATE KEY');
    });

    it('serves an admin-created endpoint with a $secret service account: one token exchange, then cached', async () => {
      expect(
        (
          await call(gateway.url, 'PUT', '/admin/v1/secrets/vertex-sa', gateway.authHeaders(), {
            value: tokens.serviceAccountJson,
          })
        ).status,
      ).toBe(200);
      const created = await call(gateway.url, 'POST', '/admin/v1/endpoints', gateway.authHeaders(), {
        name: 'vertex',
        endpoint_type: 'llm/v1/chat',
        model: {
          provider: 'vertex_ai',
          name: 'gemini-2.0-flash-001',
          config: {
            vertex_project: 'mock-project',
            vertex_location: 'us-central1',
            vertex_credentials: '$secret:vertex-sa',
            vertex_api_base: mock.url,
          },
        },
      });
      expect(created.status).toBe(201);
      const before = tokens.requests.length;

      const completion = await client.chat.completions.create({
        model: 'vertex',
        messages: [{ role: 'user', content: 'hello vertex' }],
      });
      expect(completion.choices[0].message.content).toBe('echo: hello vertex');
      expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
      const upstream = lastUpstream();
      expect(upstream.path).toBe(
        '/v1/projects/mock-project/locations/us-central1/publishers/google/models/gemini-2.0-flash-001:generateContent',
      );
      const bearerToken = String(upstream.headers.authorization).replace(/^Bearer /, '');
      expect(tokens.isValid(bearerToken)).toBe(true);

      const stream = await client.chat.completions.create({
        model: 'vertex',
        messages: [{ role: 'user', content: 'weather now' }],
        tools,
        stream: true,
      });
      let finish: string | null = null;
      for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
      expect(finish).toBe('tool_calls');
      expect(lastUpstream().headers.authorization).toBe(`Bearer ${bearerToken}`);
      // Both calls (and any later one within the hour) used one exchange, whose JWT the mock verified.
      expect(tokens.requests.slice(before)).toEqual([expect.objectContaining({ accepted: true })]);
    });

    it('embeds through the predict API with a key from $VAR in gateway.yaml', async () => {
      const embeddings = await client.embeddings.create({
        model: 'vertex-embed',
        input: 'one two three',
        encoding_format: 'float',
      });
      expect(embeddings.data[0].embedding).toEqual(embeddingOf('one two three', 4));
      expect(embeddings.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
      expect(lastUpstream().path).toBe(
        '/v1/projects/mock-project/locations/us-central1/publishers/google/models/text-embedding-005:predict',
      );
    });
  });
});
