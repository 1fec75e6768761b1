import { ApiError, FunctionCallingConfigMode, GoogleGenAI, Type } from '@google/genai';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

/*
 * Google's own SDK (@google/genai) against the gateway's generateContent API, with an OpenAI-wire
 * provider behind the endpoint: the path names the endpoint, requests are translated to the canonical
 * chat request, answers, streams (SSE and Google's streamed JSON array) and errors come back in Google's
 * formats, which the SDK parses.
 */

const WEATHER = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: {
    type: Type.OBJECT,
    properties: { location: { type: Type.STRING } },
    required: ['location'],
  },
};

describe('Gemini generateContent (inbound) with the @google/genai SDK', () => {
  let openai: OpenAIMock;
  let gateway: TestGateway;
  let client: GoogleGenAI;

  beforeAll(async () => {
    openai = await startOpenAIMock();
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('gpt-chat', 'gpt-4o-mini', openai.url)}
${openaiEndpoint('gpt-embed', 'text-embedding-3-small', openai.url, 'llm/v1/embeddings')}
${openaiEndpoint('gpt-limited', 'gpt-4o-mini', openai.url, 'llm/v1/chat', '    limit:\n      calls: 1\n      renewal_period: minute\n')}
`);
    client = new GoogleGenAI({
      apiKey: gateway.apiKey,
      httpOptions: { baseUrl: gateway.url, apiVersion: 'v1beta' },
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await openai?.close();
  });

  const lastOpenAIBody = () => openai.requests[openai.requests.length - 1].body;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': gateway.apiKey, ...headers },
      body: JSON.stringify(body),
    });

  it('generateContent: system instruction, generation config and usage through an OpenAI endpoint', async () => {
    const response = await client.models.generateContent({
      model: 'gpt-chat',
      contents: 'hello there',
      config: {
        systemInstruction: 'You are terse.',
        temperature: 0.4,
        topP: 0.9,
        maxOutputTokens: 64,
        stopSequences: ['END'],
      },
    });
    expect(response.text).toBe('echo: hello there');
    expect(response.candidates?.[0]).toMatchObject({
      content: { role: 'model', parts: [{ text: 'echo: hello there' }] },
      finishReason: 'STOP',
    });
    // The OpenAI mock counts words: 3 of system and 2 of user in, 3 out.
    expect(response.usageMetadata).toEqual({
      promptTokenCount: 5,
      candidatesTokenCount: 3,
      totalTokenCount: 8,
    });
    // The model the provider says answered.
    expect(response.modelVersion).toBe('gpt-4o-mini-2024-07-18');
    expect(lastOpenAIBody()).toMatchObject({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'hello there' },
      ],
      temperature: 0.4,
      top_p: 0.9,
      max_tokens: 64,
      stop: ['END'],
    });
  });

  it('maxOutputTokens cuts the reply: finishReason MAX_TOKENS', async () => {
    const response = await client.models.generateContent({
      model: 'gpt-chat',
      contents: [{ role: 'user', parts: [{ text: 'one two three four' }] }],
      config: { maxOutputTokens: 2 },
    });
    expect([response.text, response.candidates?.[0].finishReason]).toEqual(['echo: one', 'MAX_TOKENS']);
    expect(response.usageMetadata?.candidatesTokenCount).toBe(2);
  });

  it('generateContentStream: SSE chunks the SDK joins, usage and finishReason on the last', async () => {
    const stream = await client.models.generateContentStream({
      model: 'gpt-chat',
      contents: 'stream these words please',
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.map((c) => c.text ?? '').join('')).toBe('echo: stream these words please');
    const last = chunks[chunks.length - 1];
    expect(last.candidates?.[0].finishReason).toBe('STOP');
    expect(last.usageMetadata).toEqual({ promptTokenCount: 4, candidatesTokenCount: 5, totalTokenCount: 9 });
    expect(lastOpenAIBody()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('a function call round trip: functionDeclarations, ANY mode, functionCall args, functionResponse', async () => {
    const first = await client.models.generateContent({
      model: 'gpt-chat',
      contents: 'What is the weather in Paris?',
      config: {
        tools: [{ functionDeclarations: [WEATHER] }],
        toolConfig: {
          functionCallingConfig: {
            mode: FunctionCallingConfigMode.ANY,
            allowedFunctionNames: ['get_weather'],
          },
        },
      },
    });
    expect(first.functionCalls).toEqual([{ id: 'call_1', name: 'get_weather', args: { location: 'Paris' } }]);
    expect(first.candidates?.[0].finishReason).toBe('STOP');
    expect(lastOpenAIBody()).toMatchObject({
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Current weather for a city',
            // Gemini's upper-case schema types become JSON Schema's.
            parameters: {
              type: 'object',
              properties: { location: { type: 'string' } },
              required: ['location'],
            },
          },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });

    const second = await client.models.generateContent({
      model: 'gpt-chat',
      contents: [
        { role: 'user', parts: [{ text: 'What is the weather in Paris?' }] },
        first.candidates![0].content!,
        {
          role: 'user',
          parts: [
            { functionResponse: { name: 'get_weather', response: { temperature: '18C' } } },
            { text: 'Summarise it' },
          ],
        },
      ],
      config: { tools: [{ functionDeclarations: [WEATHER] }] },
    });
    expect(second.text).toBe('echo: Summarise it');
    expect(lastOpenAIBody().messages).toEqual([
      { role: 'user', content: 'What is the weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
          },
        ],
      },
      // Gemini pairs a functionResponse with its call by name: the call's id comes back.
      { role: 'tool', tool_call_id: 'call_1', content: '{"temperature":"18C"}' },
      { role: 'user', content: 'Summarise it' },
    ]);
  });

  it('a streamed function call arrives whole in the last chunk', async () => {
    const stream = await client.models.generateContentStream({
      model: 'gpt-chat',
      contents: 'weather in Paris?',
      config: { tools: [{ functionDeclarations: [WEATHER] }] },
    });
    const calls = [];
    for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []));
    expect(calls).toEqual([{ id: 'call_1', name: 'get_weather', args: { location: 'Paris' } }]);
  });

  it('responseMimeType with responseSchema becomes a json_schema response_format', async () => {
    await client.models.generateContent({
      model: 'gpt-chat',
      contents: 'give me json',
      config: {
        responseMimeType: 'application/json',
        responseSchema: { type: Type.OBJECT, properties: { answer: { type: Type.STRING } } },
      },
    });
    expect(lastOpenAIBody().response_format).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'response',
        schema: { type: 'object', properties: { answer: { type: 'string' } } },
      },
    });
  });

  it("without alt=sse the stream is Google's JSON array, written piece by piece", async () => {
    const response = await post('/v1beta/models/gpt-chat:streamGenerateContent', {
      contents: [{ role: 'user', parts: [{ text: 'array of words' }] }],
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const items = JSON.parse(await response.text()) as {
      candidates: { content: { parts: { text?: string }[] }; finishReason?: string }[];
      usageMetadata?: unknown;
    }[];
    expect(items.length).toBeGreaterThan(2);
    expect(items.map((i) => i.candidates[0].content.parts[0].text ?? '').join('')).toBe(
      'echo: array of words',
    );
    expect(items[items.length - 1]).toMatchObject({
      candidates: [{ finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 },
    });
  });

  it("MLflow 3's passthrough path, with the key as ?key= (Gemini's paths only)", async () => {
    const response = await fetch(
      `${gateway.url}/gateway/gemini/v1beta/models/gpt-chat:generateContent?key=${gateway.apiKey}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ parts: [{ text: 'via passthrough' }] }] }),
      },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { candidates: { content: { parts: { text: string }[] } }[] };
    expect(body.candidates[0].content.parts[0].text).toBe('echo: via passthrough');
    // Anywhere else a query-string key is refused.
    const elsewhere = await fetch(`${gateway.url}/v1/models?key=${gateway.apiKey}`);
    expect(elsewhere.status).toBe(400);
  });

  it('an unknown endpoint: 404 NOT_FOUND in Google envelope, ApiError in the SDK', async () => {
    const error = await client.models
      .generateContent({ model: 'no-such-model', contents: 'hi' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(404);
    const response = await post('/v1beta/models/no-such-model:generateContent', {
      contents: [{ parts: [{ text: 'hi' }] }],
    });
    expect([response.status, await response.json()]).toEqual([
      404,
      {
        error: {
          code: 404,
          message:
            'models/no-such-model is not found for API version v1beta, or is not supported for generateContent.',
          status: 'NOT_FOUND',
        },
      },
    ]);
  });

  it('bad input: 400 INVALID_ARGUMENT (no contents, candidateCount 2, an embeddings endpoint)', async () => {
    const cases = [
      { path: '/v1beta/models/gpt-chat:generateContent', body: {} },
      {
        path: '/v1beta/models/gpt-chat:generateContent',
        body: { contents: [{ parts: [{ text: 'x' }] }], generationConfig: { candidateCount: 2 } },
      },
      { path: '/v1beta/models/gpt-embed:generateContent', body: { contents: [{ parts: [{ text: 'x' }] }] } },
      {
        path: '/v1beta/models/gpt-chat:generateContent',
        body: { contents: [{ parts: [{ text: 'x' }] }], tools: [{ googleSearch: {} }] },
      },
    ];
    for (const c of cases) {
      const response = await post(c.path, c.body);
      const body = (await response.json()) as { error: { code: number; status: string; message: string } };
      expect([response.status, body.error.code, body.error.status]).toEqual([400, 400, 'INVALID_ARGUMENT']);
    }
    // An unknown method is no route at all.
    expect((await post('/v1beta/models/gpt-chat:countEverything', {})).status).toBe(404);
  });

  it('a request limit reached: 429 RESOURCE_EXHAUSTED', async () => {
    const first = await client.models.generateContent({ model: 'gpt-limited', contents: 'hi' });
    expect(first.text).toBe('echo: hi');
    const response = await post('/v1beta/models/gpt-limited:generateContent', {
      contents: [{ parts: [{ text: 'hi' }] }],
    });
    const body = (await response.json()) as { error: { code: number; status: string } };
    expect([response.status, body.error.code, body.error.status]).toEqual([429, 429, 'RESOURCE_EXHAUSTED']);
  });

  it('a wrong key: 401 UNAUTHENTICATED; two keys at once: refused', async () => {
    const stranger = new GoogleGenAI({
      apiKey: 'gh_wrong_key_that_is_long_enough',
      httpOptions: { baseUrl: gateway.url, apiVersion: 'v1beta' },
    });
    const error = await stranger.models
      .generateContent({ model: 'gpt-chat', contents: 'hi' })
      .catch((e: unknown) => e);
    expect((error as ApiError).status).toBe(401);
    const response = await post(`/v1beta/models/gpt-chat:generateContent?key=${gateway.apiKey}`, {
      contents: [{ parts: [{ text: 'hi' }] }],
    });
    const body = (await response.json()) as { error: { status: string } };
    expect([response.status, body.error.status]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('the OpenAPI document lists the four paths as Google writes them', async () => {
    const doc = (await (
      await fetch(`${gateway.url}/openapi.json`, { headers: gateway.authHeaders() })
    ).json()) as { paths: Record<string, unknown> };
    expect(
      Object.keys(doc.paths)
        .filter((p) => p.includes('enerateContent'))
        .sort(),
    ).toEqual([
      '/gateway/gemini/v1beta/models/{name}:generateContent',
      '/gateway/gemini/v1beta/models/{name}:streamGenerateContent',
      '/v1beta/models/{name}:generateContent',
      '/v1beta/models/{name}:streamGenerateContent',
    ]);
  });
});
