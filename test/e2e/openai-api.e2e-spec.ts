import OpenAI from 'openai';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

describe('OpenAI-compatible API through the official openai SDK (PostgreSQL)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('embed', 'text-embedding-3-small', mock.url, 'llm/v1/embeddings')}
${openaiEndpoint('complete', 'gpt-3.5-turbo-instruct', mock.url, 'llm/v1/completions')}
${openaiEndpoint('rate-limited', 'mock-429', mock.url)}
${openaiEndpoint('broken', 'mock-500', mock.url)}
${openaiEndpoint('too-long', 'mock-400', mock.url)}
  - name: azure-chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o
      config:
        openai_api_type: azure
        openai_api_key: $MOCK_OPENAI_KEY
        openai_api_base: ${mock.url}
        openai_deployment_name: my-gpt4o
        openai_api_version: "2024-06-01"
  - name: compat
    endpoint_type: llm/v1/chat
    model:
      provider: vllm
      name: meta-llama/Llama-3.1-8B-Instruct
      config:
        api_key: $MOCK_OPENAI_KEY
        api_base: ${mock.url}/v1
`);
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.apiKey, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('answers a chat completion and sends the configured model and key upstream', async () => {
    const before = mock.requests.length;
    const completion = await client.chat.completions.create({
      model: 'chat',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello there gateway' },
      ],
      temperature: 0,
    });
    expect(completion.choices[0].message.content).toBe('echo: hello there gateway');
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage).toEqual({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
    const upstream = mock.requests[before];
    expect(upstream.path).toBe('/v1/chat/completions');
    expect(upstream.body.model).toBe('gpt-4o-mini');
    expect(upstream.headers.authorization).toBe(`Bearer ${MOCK_API_KEY}`);
    expect(upstream.body.temperature).toBe(0);
  });

  it('streams chunks ending with [DONE], with usage only when include_usage is set', async () => {
    const stream = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
    });
    let text = '';
    let usageSeen = false;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
      if (chunk.usage) usageSeen = true;
    }
    expect(text).toBe('echo: one two three');
    expect(finish).toBe('stop');
    expect(usageSeen).toBe(false);

    const withUsage = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of withUsage) chunks.push(chunk);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
  });

  it('ends the raw SSE body with data: [DONE]', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const body = await response.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(body.split('\n\n').filter((e) => e.startsWith('data: {')).length).toBeGreaterThanOrEqual(3);
  });

  it('passes tool definitions and tool calls through, streaming and not', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { location: { type: 'string' } } },
        },
      },
    ];
    const completion = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'what is the weather?' }],
      tools,
      tool_choice: 'auto',
    });
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    expect(completion.choices[0].message.tool_calls?.[0]).toMatchObject({
      id: 'call_1',
      type: 'function',
      function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
    });
    expect(mock.requests[mock.requests.length - 1].body.tools).toEqual(tools);

    const stream = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'weather please' }],
      tools,
      stream: true,
    });
    let args = '';
    for await (const chunk of stream)
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
    expect(JSON.parse(args)).toEqual({ location: 'Paris' });
  });

  it('passes multimodal content parts through unchanged', async () => {
    const content = [
      { type: 'text' as const, text: 'describe' },
      { type: 'image_url' as const, image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
    ];
    const completion = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content }],
    });
    expect(completion.choices[0].message.content).toBe('echo: describe [image_url]');
    expect(
      (mock.requests[mock.requests.length - 1].body.messages as { content: unknown }[])[0].content,
    ).toEqual(content);
  });

  it('creates embeddings and completions', async () => {
    const embeddings = await client.embeddings.create({ model: 'embed', input: ['a b', 'c'] });
    expect(embeddings.data.map((d) => d.index)).toEqual([0, 1]);
    expect(embeddings.data[0].embedding.map((v) => Math.round(v * 1000) / 1000)).toEqual([0.03, 0.2, 0]);
    expect(mock.requests[mock.requests.length - 1].body.encoding_format).toBe('base64');
    const floats = await client.embeddings.create({
      model: 'embed',
      input: 'x y z',
      encoding_format: 'float',
    });
    expect(floats.data[0].embedding).toEqual([0.05, 0.3, 0]);
    expect(embeddings.usage.total_tokens).toBe(3);

    const completion = await client.completions.create({ model: 'complete', prompt: 'say this' });
    expect(completion.choices[0].text).toBe('echo: say this');
    expect(completion.usage?.completion_tokens).toBe(3);
  });

  it('reaches Azure deployments and OpenAI-compatible servers from their MLflow config keys', async () => {
    const azure = await client.chat.completions.create({
      model: 'azure-chat',
      messages: [{ role: 'user', content: 'hi az' }],
    });
    expect(azure.choices[0].message.content).toBe('echo: hi az');
    const azureCall = mock.requests[mock.requests.length - 1];
    expect(azureCall.path).toBe('/openai/deployments/my-gpt4o/chat/completions?api-version=2024-06-01');
    expect(azureCall.headers['api-key']).toBe(MOCK_API_KEY);
    expect(azureCall.headers.authorization).toBeUndefined();

    const compat = await client.chat.completions.create({
      model: 'compat',
      messages: [{ role: 'user', content: 'hi v' }],
    });
    expect(compat.choices[0].message.content).toBe('echo: hi v');
    expect(mock.requests[mock.requests.length - 1].body.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
  });

  it('lists endpoints and routes as models', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(
      expect.arrayContaining(['chat', 'embed', 'complete', 'azure-chat', 'compat']),
    );
  });

  it('maps errors to the SDK error classes with OpenAI envelopes', async () => {
    await expect(
      client.chat.completions.create({ model: 'missing', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      constructor: OpenAI.NotFoundError,
      status: 404,
      code: 'model_not_found',
    });
    await expect(
      client.chat.completions.create({ model: 'embed', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      constructor: OpenAI.BadRequestError,
      message: expect.stringContaining("Endpoint 'embed' is not a chat endpoint."),
    });
    const limited = await client.chat.completions
      .create({ model: 'rate-limited', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('7');
    await expect(
      client.chat.completions.create({ model: 'broken', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      constructor: OpenAI.InternalServerError,
      status: 502,
    });
    await expect(
      client.chat.completions.create({ model: 'too-long', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      constructor: OpenAI.BadRequestError,
      message: expect.stringContaining('maximum context length'),
    });
    await expect(
      client.chat.completions.create({
        model: 'chat',
        messages: [{ role: 'user', content: 'x' }],
        temperature: 3,
      }),
    ).rejects.toMatchObject({ constructor: OpenAI.BadRequestError, param: 'temperature' });
  });

  it('returns the upstream status before the first byte when a stream fails early', async () => {
    const failed = await client.chat.completions
      .create({ model: 'rate-limited', messages: [{ role: 'user', content: 'x' }], stream: true })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.RateLimitError);
  });
});
