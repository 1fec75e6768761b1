import OpenAI from 'openai';
import { AnthropicMock, ANTHROPIC_MOCK_API_KEY, startAnthropicMock } from 'test/mocks/anthropic-mock.server';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

/*
 * OpenAI's own SDK (`client.responses`) against the gateway's Responses API, with an OpenAI-wire
 * provider behind one endpoint and an Anthropic one behind another: requests are translated to the
 * canonical chat request, answers and streams come back as Responses objects and events.
 */

const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  strict: true,
};

describe('OpenAI Responses API (inbound) with the OpenAI SDK', () => {
  let openai: OpenAIMock;
  let anthropic: AnthropicMock;
  let gateway: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([startOpenAIMock(), startAnthropicMock()]);
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    process.env.MOCK_ANTHROPIC_KEY = ANTHROPIC_MOCK_API_KEY;
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('gpt-chat', 'gpt-4o-mini', openai.url)}
${openaiEndpoint('gpt-embed', 'text-embedding-3-small', openai.url, 'llm/v1/embeddings')}
${openaiEndpoint('gpt-stream-err', 'mock-stream-err', openai.url)}
  - name: claude
    endpoint_type: llm/v1/chat
    model:
      provider: anthropic
      name: claude-sonnet-4-5
      config:
        anthropic_api_key: $MOCK_ANTHROPIC_KEY
        anthropic_api_base: ${anthropic.url}
`);
    client = new OpenAI({ apiKey: gateway.apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([openai?.close(), anthropic?.close()]);
  });

  const lastOpenAIBody = () => openai.requests[openai.requests.length - 1].body;
  const lastAnthropicBody = () => anthropic.requests[anthropic.requests.length - 1].body;

  it('responses.create: instructions and a string input, answered as a response object', async () => {
    const response = await client.responses.create({
      model: 'gpt-chat',
      instructions: 'You are terse.',
      input: 'hello there',
      temperature: 0.5,
      top_p: 0.9,
      max_output_tokens: 64,
    });
    expect(response).toMatchObject({
      object: 'response',
      status: 'completed',
      incomplete_details: null,
      instructions: 'You are terse.',
      temperature: 0.5,
      top_p: 0.9,
      max_output_tokens: 64,
      output: [
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'echo: hello there', annotations: [] }],
        },
      ],
      // The OpenAI mock counts words: 3 of instructions and 2 of input in, 3 out.
      usage: {
        input_tokens: 5,
        output_tokens: 3,
        total_tokens: 8,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens_details: { reasoning_tokens: 0 },
      },
    });
    expect(response.id).toMatch(/^resp_/);
    expect(response.output[0].id).toMatch(/^msg_/);
    expect(response.output_text).toBe('echo: hello there');
    expect(lastOpenAIBody()).toMatchObject({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'hello there' },
      ],
      temperature: 0.5,
      top_p: 0.9,
      max_tokens: 64,
    });
  });

  it('max_output_tokens cuts the reply: status incomplete', async () => {
    const response = await client.responses.create({
      model: 'gpt-chat',
      input: 'one two three four',
      max_output_tokens: 2,
    });
    expect([response.status, response.incomplete_details, response.output_text]).toEqual([
      'incomplete',
      { reason: 'max_output_tokens' },
      'echo: one',
    ]);
  });

  it('function tools: a function_call item, then a function_call_output continuation', async () => {
    const first = await client.responses.create({
      model: 'gpt-chat',
      input: 'What is the weather in Paris?',
      tools: [WEATHER_TOOL],
      tool_choice: 'required',
    });
    expect(first.output).toEqual([
      {
        type: 'function_call',
        id: expect.stringMatching(/^fc_/),
        call_id: 'call_1',
        name: 'get_weather',
        arguments: '{"location":"Paris"}',
        status: 'completed',
      },
    ]);
    expect(first.tools).toMatchObject([{ type: 'function', name: 'get_weather', strict: true }]);
    expect(lastOpenAIBody()).toMatchObject({
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'Current weather for a city', strict: true },
        },
      ],
      tool_choice: 'required',
    });

    const call = first.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    const second = await client.responses.create({
      model: 'gpt-chat',
      tools: [WEATHER_TOOL],
      input: [
        { role: 'user', content: 'What is the weather in Paris?' },
        call,
        { type: 'function_call_output', call_id: call.call_id, output: 'sunny' },
        { role: 'user', content: [{ type: 'input_text', text: 'Summarise it' }] },
      ],
    });
    expect(second.output_text).toBe('echo: Summarise it');
    expect(lastOpenAIBody()).toMatchObject({
      messages: [
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
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        { role: 'user', content: 'Summarise it' },
      ],
    });
  });

  it('input_image parts become image_url parts; text.format json_schema becomes response_format', async () => {
    await client.responses.create({
      model: 'gpt-chat',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' },
            { type: 'input_text', text: 'what is it' },
          ],
        },
      ],
      text: {
        format: {
          type: 'json_schema',
          name: 'answer',
          strict: true,
          schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
        },
      },
    });
    expect(lastOpenAIBody()).toMatchObject({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' } },
            { type: 'text', text: 'what is it' },
          ],
        },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', strict: true, schema: { type: 'object' } },
      },
    });
  });

  it('a streamed answer: output_text deltas add up to the reply, usage in response.completed', async () => {
    const stream = await client.responses.create({
      model: 'gpt-chat',
      input: 'stream this please',
      stream: true,
    });
    const types: string[] = [];
    const sequence: number[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(text).toBe('echo: stream this please');
    expect(sequence).toEqual(types.map((_, i) => i));
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(completed).toMatchObject({
      status: 'completed',
      output: [{ type: 'message', content: [{ type: 'output_text', text: 'echo: stream this please' }] }],
      usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 },
    });
    expect(lastOpenAIBody()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('a streamed function call: arguments deltas and done, the item in response.completed', async () => {
    const stream = client.responses.stream({
      model: 'gpt-chat',
      input: 'What is the weather in Paris?',
      tools: [WEATHER_TOOL],
    });
    const deltas: string[] = [];
    let done = '';
    stream.on('response.function_call_arguments.delta', (e) => deltas.push(e.delta));
    stream.on('response.function_call_arguments.done', (e) => (done = e.arguments));
    const final = await stream.finalResponse();
    expect(deltas.join('')).toBe('{"location":"Paris"}');
    expect(done).toBe('{"location":"Paris"}');
    expect(final.output).toMatchObject([
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"location":"Paris"}' },
    ]);
  });

  it('an Anthropic endpoint behind the Responses API: the Messages request carries the turn', async () => {
    const response = await client.responses.create({
      model: 'claude',
      instructions: 'Be brief.',
      input: [{ role: 'user', content: 'hi claude' }],
      max_output_tokens: 50,
    });
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('echo: hi claude');
    expect(lastAnthropicBody()).toMatchObject({
      model: 'claude-sonnet-4-5',
      system: 'Be brief.',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'hi claude' }],
    });
  });

  it('a streamed answer from the Anthropic endpoint: deltas add up, usage in response.completed', async () => {
    const stream = client.responses.stream({
      model: 'claude',
      input: 'stream from claude',
      max_output_tokens: 50,
    });
    let text = '';
    stream.on('response.output_text.delta', (e) => (text += e.delta));
    const final = await stream.finalResponse();
    expect(text).toBe('echo: stream from claude');
    expect(final.output_text).toBe('echo: stream from claude');
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
    expect(final.usage?.total_tokens).toBe(final.usage!.input_tokens + final.usage!.output_tokens);
    expect(lastAnthropicBody()).toMatchObject({
      stream: true,
      messages: [{ role: 'user', content: 'stream from claude' }],
    });
  });

  it("at MLflow 3's OpenAI passthrough path too", async () => {
    const passthrough = new OpenAI({
      apiKey: gateway.apiKey,
      baseURL: `${gateway.url}/gateway/openai/v1`,
      maxRetries: 0,
    });
    const response = await passthrough.responses.create({ model: 'gpt-chat', input: 'via passthrough' });
    expect(response.output_text).toBe('echo: via passthrough');
  });

  it('an upstream failure after the stream started: an error event, then response.failed', async () => {
    const stream = await client.responses.create({ model: 'gpt-stream-err', input: 'boom', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('response.created');
    expect(types.slice(-2)).toEqual(['error', 'response.failed']);
    expect(types).not.toContain('response.completed');
    const error = events.at(-2) as OpenAI.Responses.ResponseErrorEvent;
    expect(error.message).toMatch(/error/i);
    const failed = events.at(-1) as OpenAI.Responses.ResponseFailedEvent;
    expect(failed.response.status).toBe('failed');
    expect(failed.response.error?.message).toBe(error.message);
  });

  it("client mistakes: OpenAI's error envelope, 4xx", async () => {
    const cases: [Record<string, unknown>, number, string | null][] = [
      [{ model: 'gpt-chat' }, 400, 'input'],
      [{ model: 'nope', input: 'x' }, 404, 'model'],
      [{ model: 'gpt-embed', input: 'x' }, 400, 'model'],
      [{ model: 'gpt-chat', input: [{ type: 'reasoning', summary: [] }] }, 400, 'input.0.type'],
      [{ model: 'gpt-chat', input: 'x', tools: [{ type: 'web_search' }] }, 400, 'tools.0.type'],
      [{ model: 'gpt-chat', input: 'x', temperature: 3 }, 400, 'temperature'],
      [{ model: 'gpt-chat', input: 'x', previous_response_id: 'resp_x' }, 400, 'previous_response_id'],
    ];
    for (const [body, status, param] of cases) {
      const res = await fetch(`${gateway.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { error: { message: string; type: string; param: string | null } };
      expect([JSON.stringify(body), res.status, json.error.param]).toEqual([
        JSON.stringify(body),
        status,
        param,
      ]);
      expect(typeof json.error.message).toBe('string');
      expect(json.error.type).toMatch(/_error$/);
    }
  });
});
