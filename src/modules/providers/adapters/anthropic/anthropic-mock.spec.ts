import {
  CanonicalChunk,
  CanonicalRequest,
  ChatCompletion,
  ChatRequest,
  Operation,
  SseEvent,
  TargetContext,
  TextCompletion,
  UpstreamErrorInfo,
} from 'src/modules/providers/provider-adapter';
import { AnthropicAdapter } from 'src/modules/providers/adapters/anthropic/anthropic.adapter';
import { AnthropicConfig } from 'src/modules/providers/adapters/anthropic/anthropic-config';
import { AnthropicMock, startAnthropicMock } from 'test/mocks/anthropic-mock.server';

/** Drives the local Anthropic mock with the adapter's own requests: proves adapter and mock agree on the wire. */

const adapter = new AnthropicAdapter();
let mock: AnthropicMock;

beforeAll(async () => {
  mock = await startAnthropicMock();
});

afterAll(async () => {
  await mock.close();
});

function target(modelName = 'claude-sonnet-4-5', apiKey = mock.apiKey): TargetContext<AnthropicConfig> {
  return {
    endpointName: 'mock',
    endpointType: 'llm/v1/chat',
    modelName,
    config: adapter.parseConfig(
      { anthropic_api_key: apiKey, anthropic_api_base: mock.url },
      'anthropic',
      modelName,
    ),
  };
}

async function call(
  op: Operation,
  request: CanonicalRequest,
  options: { model?: string; stream?: boolean; apiKey?: string; signal?: AbortSignal } = {},
): Promise<Response> {
  const upstream = adapter.buildRequest(
    op,
    request,
    target(options.model, options.apiKey),
    options.stream ?? false,
  );
  return fetch(upstream.url, {
    method: upstream.method,
    headers: upstream.headers,
    body: upstream.body,
    signal: options.signal,
  });
}

async function chat(request: ChatRequest, model?: string): Promise<ChatCompletion> {
  const response = await call('chat', request, { model });
  expect(response.status).toBe(200);
  return adapter.parseResponse('chat', await response.json(), target()) as ChatCompletion;
}

async function errorOf(response: Response): Promise<UpstreamErrorInfo> {
  const text = await response.text();
  return adapter.parseError(response.status, JSON.parse(text));
}

/** Minimal SSE reader for the test: `event:`/`data:` lines, blank line ends an event. */
function parseSse(text: string): SseEvent[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event: SseEvent = { data: '' };
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event.event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      event.data = data.join('\n');
      return event;
    });
}

/** Reads the whole body; a transport failure mid-body is returned, not thrown, with what arrived before it. */
async function readBody(response: Response): Promise<{ text: string; failure?: unknown }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: text + decoder.decode() };
      text += decoder.decode(value, { stream: true });
    }
  } catch (failure) {
    return { text, failure };
  }
}

interface StreamResult {
  chunks: CanonicalChunk[];
  content: string;
  toolArguments: string;
  errors: UpstreamErrorInfo[];
  done: boolean;
  finished: boolean;
  failure?: unknown;
  eventNames: (string | undefined)[];
}

async function stream(request: ChatRequest, model?: string): Promise<StreamResult> {
  const response = await call('chat', request, { model, stream: true });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const { text, failure } = await readBody(response);
  const translator = adapter.createStreamTranslator('chat', target());
  const events = parseSse(text);
  const result: StreamResult = {
    chunks: [],
    content: '',
    toolArguments: '',
    errors: [],
    done: false,
    finished: false,
    failure,
    eventNames: events.map((e) => e.event),
  };
  for (const event of events) {
    const step = translator.push(event);
    result.chunks.push(...step.chunks);
    if (step.error !== undefined) result.errors.push(step.error);
    if (step.done === true) result.done = true;
  }
  for (const chunk of result.chunks) {
    if (chunk.object !== 'chat.completion.chunk') continue;
    for (const choice of chunk.choices) {
      if (typeof choice.delta.content === 'string') result.content += choice.delta.content;
      for (const call of choice.delta.tool_calls ?? [])
        result.toolArguments += call.function?.arguments ?? '';
    }
  }
  result.finished = translator.finished;
  return result;
}

const WEATHER_TOOLS: ChatRequest['tools'] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather',
      parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
    },
  },
];

describe('Anthropic adapter against the local Anthropic mock', () => {
  it('answers a chat with the echo text and word-count usage', async () => {
    const completion = await chat({
      messages: [
        { role: 'system', content: 'Be very nice' },
        { role: 'user', content: 'hello there friend' },
      ],
    });
    expect(completion.choices[0].message.content).toBe('echo: hello there friend');
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.model).toBe('claude-sonnet-4-5');
    expect(completion.id).toMatch(/^msg_mock_/);
    // 3 system words + 3 user words in; "echo: hello there friend" = 4 words out.
    expect(completion.usage).toEqual({ prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 });

    const recorded = mock.requests.at(-1)!;
    expect(recorded.path).toBe('/v1/messages');
    expect(recorded.headers['x-api-key']).toBe(mock.apiKey);
    expect(recorded.headers['anthropic-version']).toBe('2023-06-01');
    expect(recorded.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 8192,
      system: 'Be very nice',
      messages: [{ role: 'user', content: 'hello there friend' }],
    });
  });

  it('echoes the last user turn of a conversation and counts every turn', async () => {
    const completion = await chat({
      messages: [
        { role: 'user', content: 'one two' },
        { role: 'assistant', content: 'three' },
        { role: 'user', content: [{ type: 'text', text: 'four five six' }] },
      ],
    });
    expect(completion.choices[0].message.content).toBe('echo: four five six');
    expect(completion.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 4 });
  });

  it('streams the full documented event sequence, and the translator rebuilds the reply', async () => {
    const result = await stream({ messages: [{ role: 'user', content: 'stream me a reply please' }] });
    expect(result.eventNames[0]).toBe('message_start');
    expect(result.eventNames.slice(1, 3)).toEqual(['content_block_start', 'ping']);
    expect(result.eventNames.filter((e) => e === 'content_block_delta').length).toBeGreaterThan(2);
    expect(result.eventNames.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);

    expect(result.content).toBe('echo: stream me a reply please');
    expect(result.errors).toEqual([]);
    expect(result.done).toBe(true);
    expect(result.finished).toBe(true);
    const usage = result.chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toEqual({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });
    expect(result.chunks.at(-2)).toMatchObject({ choices: [{ finish_reason: 'stop', delta: {} }] });
  });

  it('answers "weather" with a tool_use for the first tool, then echoes the tool result', async () => {
    const first = await chat({
      messages: [{ role: 'user', content: 'what is the weather' }],
      tools: WEATHER_TOOLS,
    });
    const call = first.choices[0].message.tool_calls![0];
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    expect(first.choices[0].message.content).toBeNull();
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse(call.function.arguments)).toEqual({ location: 'Paris' });

    const second = await chat({
      messages: [
        { role: 'user', content: 'what is the weather' },
        first.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: 'sunny 21C' },
      ],
      tools: WEATHER_TOOLS,
    });
    expect(second.choices[0].message.content).toBe('echo: sunny 21C');
    expect(second.choices[0].finish_reason).toBe('stop');
  });

  it('streams tool input as input_json_delta pieces', async () => {
    const result = await stream({
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: WEATHER_TOOLS,
    });
    expect(result.content).toBe('');
    expect(JSON.parse(result.toolArguments)).toEqual({ location: 'Paris' });
    const toolChunks = result.chunks.filter(
      (c) => c.object === 'chat.completion.chunk' && c.choices[0]?.delta.tool_calls,
    );
    expect(toolChunks.length).toBeGreaterThan(2);
    expect(result.chunks.at(-2)).toMatchObject({ choices: [{ finish_reason: 'tool_calls' }] });
    expect(result.finished).toBe(true);
  });

  it('stops at a stop sequence and at max_tokens', async () => {
    const stopped = await chat({ messages: [{ role: 'user', content: 'alpha beta gamma' }], stop: ' gamma' });
    expect(stopped.choices[0]).toMatchObject({
      message: { content: 'echo: alpha beta' },
      finish_reason: 'stop',
    });

    const cut = await chat({
      messages: [{ role: 'user', content: 'alpha beta gamma delta' }],
      max_tokens: 2,
    });
    expect(cut.choices[0]).toMatchObject({ message: { content: 'echo: alpha' }, finish_reason: 'length' });
    expect(cut.usage?.completion_tokens).toBe(2);
  });

  it('serves completions as a single user message', async () => {
    const response = await call('completions', { prompt: 'complete this' });
    const completion = adapter.parseResponse(
      'completions',
      await response.json(),
      target(),
    ) as TextCompletion;
    expect(completion.object).toBe('text_completion');
    expect(completion.choices[0].text).toBe('echo: complete this');
    expect(completion.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
  });

  it('rejects a wrong API key with authentication_error', async () => {
    const response = await call(
      'chat',
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: 'sk-wrong' },
    );
    expect(response.status).toBe(401);
    expect(await errorOf(response)).toEqual({ message: 'invalid x-api-key', type: 'authentication_error' });
  });

  it('validates the version header, required fields and the path', async () => {
    const headers = { 'x-api-key': mock.apiKey, 'content-type': 'application/json' };
    const body = JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });

    const noVersion = await fetch(`${mock.url}/v1/messages`, { method: 'POST', headers, body });
    expect(noVersion.status).toBe(400);
    expect(await errorOf(noVersion)).toMatchObject({
      type: 'invalid_request_error',
      message: /anthropic-version/,
    });

    const versioned = { ...headers, 'anthropic-version': '2023-06-01' };
    for (const [missing, field] of [
      [{ messages: [{ role: 'user', content: 'x' }], max_tokens: 5 }, 'model'],
      [{ model: 'm', messages: [{ role: 'user', content: 'x' }] }, 'max_tokens'],
      [{ model: 'm', max_tokens: 5 }, 'messages'],
    ] as const) {
      const response = await fetch(`${mock.url}/v1/messages`, {
        method: 'POST',
        headers: versioned,
        body: JSON.stringify(missing),
      });
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toEqual({
        type: 'invalid_request_error',
        message: `${field}: Field required`,
      });
    }

    const notFound = await fetch(`${mock.url}/v1/complete`, { method: 'POST', headers: versioned, body });
    expect(notFound.status).toBe(404);
    expect(await errorOf(notFound)).toMatchObject({ type: 'not_found_error' });
  });

  it('mock-429 answers rate_limit_error with retry-after 7', async () => {
    const response = await call(
      'chat',
      { messages: [{ role: 'user', content: 'x' }] },
      { model: 'mock-429' },
    );
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await errorOf(response)).toMatchObject({ type: 'rate_limit_error' });
  });

  it('mock-529 answers overloaded_error', async () => {
    const response = await call(
      'chat',
      { messages: [{ role: 'user', content: 'x' }] },
      { model: 'mock-529' },
    );
    expect(response.status).toBe(529);
    expect(await errorOf(response)).toEqual({ message: 'Overloaded', type: 'overloaded_error' });
  });

  it('mock-stream-error sends two deltas then an error event', async () => {
    const result = await stream(
      { messages: [{ role: 'user', content: 'one two three' }] },
      'mock-stream-error',
    );
    expect(result.content).toBe('echo: one ');
    expect(result.errors).toEqual([{ message: 'Overloaded', type: 'overloaded_error' }]);
    expect(result.done).toBe(false);
    expect(result.finished).toBe(false);
    expect(result.failure).toBeUndefined();
  });

  it('mock-cut drops the connection after two deltas', async () => {
    const result = await stream({ messages: [{ role: 'user', content: 'one two three' }] }, 'mock-cut');
    // fetch reports a body cut short as `TypeError: terminated` (from another realm, so no instanceof).
    expect(result.failure).toMatchObject({ name: 'TypeError', message: 'terminated' });
    expect(result.content).toBe('echo: one ');
    expect(result.done).toBe(false);
    expect(result.finished).toBe(false);
  });

  it('mock-slow sends no headers for seconds', async () => {
    const started = Date.now();
    await expect(
      call(
        'chat',
        { messages: [{ role: 'user', content: 'x' }] },
        { model: 'mock-slow', signal: AbortSignal.timeout(300) },
      ),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('mock-slow answers normally once the delay has passed', async () => {
    const quick = await startAnthropicMock({ slowMs: 50 });
    try {
      const upstream = adapter.buildRequest(
        'chat',
        { messages: [{ role: 'user', content: 'late reply' }] },
        {
          ...target('mock-slow'),
          config: adapter.parseConfig(
            { anthropic_api_key: quick.apiKey, anthropic_api_base: quick.url },
            'anthropic',
            'mock-slow',
          ),
        },
        false,
      );
      const response = await fetch(upstream.url, {
        method: 'POST',
        headers: upstream.headers,
        body: upstream.body,
      });
      const completion = adapter.parseResponse('chat', await response.json(), target()) as ChatCompletion;
      expect(completion.choices[0].message.content).toBe('echo: late reply');
    } finally {
      await quick.close();
    }
  });
});
