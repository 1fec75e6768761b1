import Anthropic from '@anthropic-ai/sdk';
import { TokenCounter } from 'src/modules/tokens/token-counter';
import { AnthropicMock, ANTHROPIC_MOCK_API_KEY, startAnthropicMock } from 'test/mocks/anthropic-mock.server';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

/*
 * Anthropic's own SDK against the gateway's Messages API, with an OpenAI-wire provider behind the
 * endpoint (and once an Anthropic one): requests are translated to the canonical chat request, answers,
 * streams and errors come back in Anthropic's formats, which the SDK parses.
 */

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: {
    type: 'object' as const,
    properties: { location: { type: 'string' } },
    required: ['location'],
  },
};

describe('Anthropic Messages API (inbound) with the Anthropic SDK', () => {
  let openai: OpenAIMock;
  let anthropic: AnthropicMock;
  let gateway: TestGateway;
  let client: Anthropic;

  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([startOpenAIMock(), startAnthropicMock()]);
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    process.env.MOCK_ANTHROPIC_KEY = ANTHROPIC_MOCK_API_KEY;
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('gpt-chat', 'gpt-4o-mini', openai.url)}
${openaiEndpoint('gpt-embed', 'text-embedding-3-small', openai.url, 'llm/v1/embeddings')}
${openaiEndpoint('gpt-cached', 'gpt-4o-mini', openai.url, 'llm/v1/chat', '    gatehouse:\n      cache: { ttl_seconds: 60 }\n')}
${openaiEndpoint('gpt-stream-err', 'mock-stream-err', openai.url)}
${openaiEndpoint('gpt-limited', 'gpt-4o-mini', openai.url, 'llm/v1/chat', '    limit:\n      calls: 1\n      renewal_period: minute\n')}
  - name: claude
    endpoint_type: llm/v1/chat
    model:
      provider: anthropic
      name: claude-sonnet-4-5
      config:
        anthropic_api_key: $MOCK_ANTHROPIC_KEY
        anthropic_api_base: ${anthropic.url}
`);
    client = new Anthropic({ apiKey: gateway.apiKey, authToken: null, baseURL: gateway.url, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([openai?.close(), anthropic?.close()]);
  });

  const lastOpenAIBody = () => openai.requests[openai.requests.length - 1].body;

  it('messages.create: system and user text through an OpenAI endpoint, answered as an Anthropic message', async () => {
    const message = await client.messages.create({
      model: 'gpt-chat',
      max_tokens: 64,
      system: 'You are terse.',
      messages: [{ role: 'user', content: 'hello there' }],
      stop_sequences: ['END'],
      metadata: { user_id: 'user-7' },
    });
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'echo: hello there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      // The OpenAI mock counts words: 3 of system and 2 of user in, 3 out.
      usage: { input_tokens: 5, output_tokens: 3 },
    });
    expect(message.id).toMatch(/^msg_/);
    expect(lastOpenAIBody()).toMatchObject({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'hello there' },
      ],
      max_tokens: 64,
      stop: ['END'],
      user: 'user-7',
    });
  });

  it('max_tokens cuts the reply: stop_reason max_tokens', async () => {
    const message = await client.messages.create({
      model: 'gpt-chat',
      max_tokens: 2,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'one two three four' }] }],
    });
    expect([message.stop_reason, message.content, message.usage.output_tokens]).toEqual([
      'max_tokens',
      [{ type: 'text', text: 'echo: one' }],
      2,
    ]);
  });

  it('tools with input_schema and tool_choice any: a tool_use block, stop_reason tool_use', async () => {
    const message = await client.messages.create({
      model: 'gpt-chat',
      max_tokens: 100,
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'any' },
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
    ]);
    expect(lastOpenAIBody()).toMatchObject({
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Current weather for a city',
            parameters: WEATHER_TOOL.input_schema,
          },
        },
      ],
      tool_choice: 'required',
    });
  });

  it('a tool round trip: tool_use history and tool_result become tool_calls and a tool message', async () => {
    const message = await client.messages.create({
      model: 'gpt-chat',
      max_tokens: 100,
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'sunny' }] },
            { type: 'text', text: 'Summarise it' },
          ],
        },
      ],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'echo: Summarise it' }]);
    expect(lastOpenAIBody()).toMatchObject({
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            {
              id: 'toolu_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
        { role: 'user', content: 'Summarise it' },
      ],
    });
  });

  it('images become image_url parts', async () => {
    await client.messages.create({
      model: 'gpt-chat',
      max_tokens: 10,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'text', text: 'what is it' },
          ],
        },
      ],
    });
    expect((lastOpenAIBody().messages as unknown[])[0]).toEqual({
      role: 'user',
      content: [
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        { type: 'text', text: 'what is it' },
      ],
    });
  });

  it('messages.stream with tools: Anthropic events, tool_use input assembled from input_json_delta', async () => {
    const stream = client.messages.stream({
      model: 'gpt-chat',
      max_tokens: 100,
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    });
    const events: string[] = [];
    const partials: string[] = [];
    stream.on('streamEvent', (event) => {
      events.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta')
        partials.push(event.delta.partial_json);
    });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
    ]);
    expect(final.stop_reason).toBe('tool_use');
    expect(partials.join('')).toBe('{"location":"Paris"}');
    expect(events[0]).toBe('message_start');
    expect(events.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(events).toEqual(expect.arrayContaining(['content_block_start', 'content_block_stop']));
    // The usage the upstream reported at the end of its stream (the gateway asked for it).
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    expect(lastOpenAIBody()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('a streamed text answer: text_delta events add up to the reply, usage in message_delta', async () => {
    const stream = client.messages.stream({
      model: 'gpt-chat',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'stream this please' }],
    });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text).toBe('echo: stream this please');
    expect(final.content).toEqual([{ type: 'text', text: 'echo: stream this please' }]);
    expect([final.stop_reason, final.usage.input_tokens, final.usage.output_tokens]).toEqual([
      'end_turn',
      3,
      4,
    ]);
  });

  it('the beta client (?beta=true, anthropic-beta header), as coding agents use it', async () => {
    const message = await client.beta.messages.create({
      model: 'gpt-chat',
      max_tokens: 20,
      betas: ['interleaved-thinking-2025-05-14'],
      messages: [{ role: 'user', content: 'beta hello' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'echo: beta hello' }]);
    // Anthropic's own headers stay at the gateway; the upstream gets the endpoint's request only.
    expect(openai.requests[openai.requests.length - 1].headers['anthropic-beta']).toBeUndefined();
  });

  it('an upstream failure after the stream started: an Anthropic error event, which the SDK raises', async () => {
    const stream = client.messages.stream({
      model: 'gpt-stream-err',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'one two three four five' }],
    });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const error = await stream.finalMessage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'api_error', message: expect.stringContaining('The server had an error') },
    });
    // What arrived before the failure was delivered as text deltas.
    expect(text).toBe('echo: one ');
  });

  it('the response cache: a Messages answer is cached and replays as JSON and as Anthropic events', async () => {
    const params = {
      model: 'gpt-cached',
      max_tokens: 30,
      messages: [{ role: 'user' as const, content: 'cache me please' }],
      // By default only deterministic requests are cached.
      ...({ temperature: 0 } as object),
    };
    const first = await client.messages.create(params).withResponse();
    expect(first.response.headers.get('x-gatehouse-cache')).toBe('miss');
    const upstreamCalls = openai.requests.length;
    const second = await client.messages.create(params).withResponse();
    expect(second.response.headers.get('x-gatehouse-cache')).toBe('hit');
    expect(second.data.content).toEqual(first.data.content);
    expect(second.data.usage).toEqual(first.data.usage);
    const replayed = await client.messages.stream(params).finalMessage();
    expect([replayed.content, replayed.stop_reason]).toEqual([first.data.content, 'end_turn']);
    expect(openai.requests.length).toBe(upstreamCalls);
    // A token count is never answered from (nor stored in) the cache.
    expect(await client.messages.countTokens({ model: 'gpt-cached', messages: params.messages })).toEqual({
      input_tokens: expect.any(Number),
    });
  });

  it('count_tokens: the gateway estimate of the prompt, with no upstream call', async () => {
    const before = openai.requests.length;
    const body = {
      model: 'gpt-chat',
      system: 'You are a weather bot.',
      messages: [{ role: 'user' as const, content: 'What is the weather in Paris?' }],
      tools: [WEATHER_TOOL],
    };
    const counted = await client.messages.countTokens(body);
    // gpt-4o-mini is counted with its own tokenizer (o200k), the same estimate the token limits use.
    const counter = await new TokenCounter().counterFor(TokenCounter.choose('openai', 'gpt-4o-mini'));
    const expected =
      counter.messages([
        { role: 'system', content: 'You are a weather bot.' },
        { role: 'user', content: 'What is the weather in Paris?' },
      ]) +
      counter.text(
        JSON.stringify([
          {
            type: 'function',
            function: {
              name: WEATHER_TOOL.name,
              description: WEATHER_TOOL.description,
              parameters: WEATHER_TOOL.input_schema,
            },
          },
        ]),
      );
    expect(counted).toEqual({ input_tokens: expected });
    expect(expected).toBeGreaterThan(20);
    expect(openai.requests.length).toBe(before);
  });

  it('an unknown model: NotFoundError with not_found_error', async () => {
    const error = await client.messages
      .create({ model: 'no-such-model', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    const apiError = error as InstanceType<typeof Anthropic.NotFoundError>;
    expect(apiError.status).toBe(404);
    expect(apiError.error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error', message: 'model: no-such-model' },
    });
  });

  it('a request limit reached: RateLimitError with rate_limit_error (the guard refuses before the body)', async () => {
    const first = await client.messages.create({
      model: 'gpt-limited',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(first.content).toEqual([{ type: 'text', text: 'echo: hi' }]);
    const error = await client.messages
      .create({ model: 'gpt-limited', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect((error as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error' },
    });
  });

  it('a wrong x-api-key: AuthenticationError with authentication_error', async () => {
    const stranger = new Anthropic({
      apiKey: 'gh_wrong_key',
      authToken: null,
      baseURL: gateway.url,
      maxRetries: 0,
    });
    const error = await stranger.messages
      .create({ model: 'gpt-chat', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error' },
    });
  });

  it('client mistakes are 400 invalid_request_error in Anthropic envelope', async () => {
    const post = async (body: unknown) => {
      const response = await fetch(`${gateway.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': gateway.apiKey,
          'content-type': 'application/json',
          'anthropic-version': '2023-06-01',
        },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const noMax = await post({ model: 'gpt-chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(noMax).toEqual({
      status: 400,
      body: {
        type: 'error',
        error: { type: 'invalid_request_error', message: 'max_tokens: Field required' },
        request_id: expect.any(String),
      },
    });
    const badRole = await post({
      model: 'gpt-chat',
      max_tokens: 5,
      messages: [{ role: 'system', content: 'x' }],
    });
    expect([badRole.status, badRole.body.error]).toEqual([
      400,
      { type: 'invalid_request_error', message: "messages.0.role: Input should be 'user' or 'assistant'" },
    ]);
    const serverTool = await post({
      model: 'gpt-chat',
      max_tokens: 5,
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      messages: [{ role: 'user', content: 'x' }],
    });
    expect([serverTool.status, (serverTool.body.error as { type: string }).type]).toEqual([
      400,
      'invalid_request_error',
    ]);
    const embeddings = await post({
      model: 'gpt-embed',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    });
    expect([embeddings.status, (embeddings.body.error as { type: string }).type]).toEqual([
      400,
      'invalid_request_error',
    ]);
  });

  it('an Anthropic endpoint behind the Messages API, at MLflow 3 passthrough path too', async () => {
    const passthrough = new Anthropic({
      apiKey: gateway.apiKey,
      authToken: null,
      baseURL: `${gateway.url}/gateway/anthropic`,
      maxRetries: 0,
    });
    const message = await passthrough.messages.create({
      model: 'claude',
      max_tokens: 64,
      system: [{ type: 'text', text: 'Be brief.' }],
      messages: [{ role: 'user', content: 'hello from the sdk' }],
      // Older SDKs type `temperature`; this one no longer does, but the API takes it.
      ...({ temperature: 0.3 } as object),
    });
    expect(message).toMatchObject({
      content: [{ type: 'text', text: 'echo: hello from the sdk' }],
      stop_reason: 'end_turn',
      // The Anthropic mock counts words: 2 of system and 4 of user in, 5 out.
      usage: { input_tokens: 6, output_tokens: 5 },
    });
    const upstream = anthropic.requests[anthropic.requests.length - 1];
    expect(upstream.body).toMatchObject({
      model: 'claude-sonnet-4-5',
      system: 'Be brief.',
      max_tokens: 64,
      temperature: 0.3,
      messages: [{ role: 'user', content: 'hello from the sdk' }],
    });
    // The caller's key never goes upstream; the endpoint's own does.
    expect(upstream.headers['x-api-key']).toBe(ANTHROPIC_MOCK_API_KEY);

    const stream = passthrough.messages.stream({
      model: 'claude',
      max_tokens: 64,
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'weather in Paris?' }],
    });
    const final = await stream.finalMessage();
    expect([final.stop_reason, final.content]).toEqual([
      'tool_use',
      [{ type: 'tool_use', id: expect.any(String), name: 'get_weather', input: { location: 'Paris' } }],
    ]);
  });
});
