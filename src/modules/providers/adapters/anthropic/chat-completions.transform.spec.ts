import {
  AdapterRequestError,
  ChatRequest,
  UpstreamProtocolError,
} from 'src/modules/providers/provider-adapter';
import {
  parseAnthropicMessage,
  toAnthropicChatBody,
  toChatCompletion,
} from 'src/modules/providers/adapters/anthropic/chat-completions.transform';

const MODEL = 'claude-sonnet-4-5';

function chat(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return { messages: [{ role: 'user', content: 'Hello' }], ...overrides };
}

function build(overrides: Partial<ChatRequest> = {}, stream = false): Record<string, unknown> {
  return { ...toAnthropicChatBody(chat(overrides), MODEL, stream) };
}

function expectRequestError(
  fn: () => unknown,
  status: number,
  message: string | RegExp,
  param?: string,
): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AdapterRequestError);
  const error = caught as AdapterRequestError;
  expect(error.status).toBe(status);
  expect(error.message).toMatch(message);
  if (param !== undefined) expect(error.param).toBe(param);
}

function anthropicMessage(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content: [{ type: 'text', text: 'Hi there' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 6 },
    ...overrides,
  };
}

describe('toAnthropicChatBody', () => {
  it('builds the minimal body with MLflow default max_tokens', () => {
    expect(build()).toEqual({
      model: MODEL,
      max_tokens: 8192,
      messages: [{ role: 'user', content: 'Hello' }],
    });
  });

  it('prefers max_tokens over max_completion_tokens', () => {
    expect(build({ max_tokens: 100, max_completion_tokens: 200 }).max_tokens).toBe(100);
    expect(build({ max_completion_tokens: 200 }).max_tokens).toBe(200);
  });

  it('halves temperature and passes top_k', () => {
    const body = build({ temperature: 1.5, top_k: 40 });
    expect(body.temperature).toBe(0.75);
    expect(body.top_k).toBe(40);
    expect(build({ top_p: 0.9 }).top_p).toBe(0.9);
  });

  it('rejects temperature together with top_p, as MLflow does', () => {
    expectRequestError(
      () => build({ temperature: 1, top_p: 0.5 }),
      422,
      /Cannot set both 'temperature' and 'top_p'/,
    );
  });

  it('treats null sampling parameters as absent', () => {
    const body = build({ temperature: null, top_p: null, max_tokens: null, stop: null, n: null } as never);
    expect(body).toEqual({ model: MODEL, max_tokens: 8192, messages: [{ role: 'user', content: 'Hello' }] });
  });

  it('rejects n > 1 with 422 and accepts n = 1', () => {
    expectRequestError(
      () => build({ n: 3 }),
      422,
      "'n' must be '1' for the Anthropic provider. Received value: '3'.",
      'n',
    );
    expect(build({ n: 1 })).not.toHaveProperty('n');
  });

  it('rejects non-numeric sampling parameters', () => {
    expectRequestError(() => build({ top_k: 'many' }), 400, 'top_k must be a number', 'top_k');
  });

  it('maps stop to stop_sequences', () => {
    expect(build({ stop: 'END' }).stop_sequences).toEqual(['END']);
    expect(build({ stop: ['a', 'b'] }).stop_sequences).toEqual(['a', 'b']);
    expect(build({ stop: [] })).not.toHaveProperty('stop_sequences');
    expectRequestError(() => build({ stop: [1] as never }), 400, /stop must be/, 'stop');
  });

  it('sets stream only when asked', () => {
    expect(build({}, true).stream).toBe(true);
    expect(build({ stream: true }, false)).not.toHaveProperty('stream');
  });

  it('drops OpenAI-only keys and keeps Anthropic-native ones', () => {
    const body = build({
      presence_penalty: 0.5,
      frequency_penalty: 0.5,
      logprobs: true,
      top_logprobs: 2,
      response_format: { type: 'json_object' },
      seed: 7,
      stream_options: { include_usage: true },
      parallel_tool_calls: true,
      logit_bias: { 1: 2 },
      store: true,
      unknown_vendor_key: 'x',
      thinking: { type: 'enabled', budget_tokens: 2048 },
      service_tier: 'auto',
      metadata: { user_id: 'u-1', tenant: 'ignored' },
    });
    expect(body).toEqual({
      model: MODEL,
      max_tokens: 8192,
      messages: [{ role: 'user', content: 'Hello' }],
      thinking: { type: 'enabled', budget_tokens: 2048 },
      service_tier: 'auto',
      metadata: { user_id: 'u-1' },
    });
  });

  it("drops OpenAI's service tiers Anthropic does not know", () => {
    expect(build({ service_tier: 'flex' })).not.toHaveProperty('service_tier');
    expect(build({ service_tier: 'standard_only' }).service_tier).toBe('standard_only');
  });

  it('maps user to metadata.user_id unless metadata.user_id is given', () => {
    expect(build({ user: 'alice' }).metadata).toEqual({ user_id: 'alice' });
    expect(build({ user: 'alice', metadata: { user_id: 'bob' } }).metadata).toEqual({ user_id: 'bob' });
    expect(build({ metadata: { purpose: 'eval' } })).not.toHaveProperty('metadata');
  });

  it('hoists system and developer messages into one system string', () => {
    const body = build({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Hi' },
        { role: 'system', content: 'Late rule.' },
      ],
    });
    expect(body.system).toBe('Be brief.\nAnswer in French.\nLate rule.');
    expect(body.messages).toEqual([{ role: 'user', content: 'Hi' }]);
  });

  it('omits system when system messages are empty', () => {
    expect(
      build({
        messages: [
          { role: 'system', content: '' },
          { role: 'user', content: 'x' },
        ],
      }),
    ).not.toHaveProperty('system');
  });

  it('translates text and image parts', () => {
    const body = build({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?', cache_control: { type: 'ephemeral' } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
          ],
        },
      ],
    });
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?', cache_control: { type: 'ephemeral' } },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
  });

  it.each([
    ['data:image/png,rawbytes', /data:<media type>;base64/],
    ['data:image/bmp;base64,Qk0=', /media type 'image\/bmp' is not supported/],
    ['file:///etc/passwd', /http\(s\) or data: URL/],
  ])('rejects image url %s', (url, message) => {
    expectRequestError(
      () => build({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] }),
      400,
      message,
      'messages[0].content[0].image_url.url',
    );
  });

  it('rejects content part types Anthropic cannot take', () => {
    expectRequestError(
      () =>
        build({
          messages: [
            { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] },
          ],
        }),
      400,
      /'input_audio' is not supported/,
      'messages[0].content[0]',
    );
  });

  it('rejects unknown roles', () => {
    expectRequestError(
      () => build({ messages: [{ role: 'function', content: 'x', name: 'f' }] }),
      400,
      /role 'function'/,
      'messages[0].role',
    );
  });

  it('translates a full tool round trip and merges consecutive tool results', () => {
    const body = build({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            {
              id: 'call_2',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Rome"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '24C' }] },
        { role: 'user', content: 'Thanks, summarise.' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '18C' },
          { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: '24C' }] },
          { type: 'text', text: 'Thanks, summarise.' },
        ],
      },
    ]);
  });

  it('puts tool results before text when a user turn precedes a tool message', () => {
    const body = build({
      messages: [
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { role: 'user', content: 'extra context' },
        { role: 'tool', tool_call_id: 't', content: 'ok' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't', content: 'ok' },
          { type: 'text', text: 'extra context' },
        ],
      },
    ]);
  });

  it('merges consecutive same-role messages', () => {
    const body = build({
      messages: [
        { role: 'user', content: 'one' },
        { role: 'user', content: [{ type: 'text', text: 'two' }] },
        { role: 'assistant', content: 'three' },
        { role: 'assistant', content: 'four' },
      ],
    });
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'one' },
          { type: 'text', text: 'two' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'three' },
          { type: 'text', text: 'four' },
        ],
      },
    ]);
  });

  it('drops empty assistant turns and treats empty arguments as {}', () => {
    const body = build({
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: '' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ id: 'x', type: 'function', function: { name: 'now', arguments: '' } }],
        },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'x', name: 'now', input: {} }] },
    ]);
  });

  it.each([
    ['{not json', /not valid JSON/],
    ['[1,2]', /must encode a JSON object/],
  ])('rejects tool call arguments %s', (args, message) => {
    expectRequestError(
      () =>
        build({
          messages: [
            { role: 'user', content: 'a' },
            {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: 'x', type: 'function', function: { name: 'f', arguments: args } }],
            },
          ],
        }),
      400,
      message,
      'messages[1].tool_calls[0].function.arguments',
    );
  });

  it('requires tool_call_id on tool messages', () => {
    expectRequestError(
      () => build({ messages: [{ role: 'tool', content: 'x' }] }),
      400,
      /tool_call_id/,
      'messages[0].tool_call_id',
    );
  });

  it('translates tools and every tool_choice form', () => {
    const tools: ChatRequest['tools'] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather by city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
      { type: 'function', function: { name: 'now' } },
    ];
    expect(build({ tools }).tools).toEqual([
      {
        name: 'get_weather',
        description: 'Weather by city',
        input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
      { name: 'now', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(build({ tools, tool_choice: 'auto' }).tool_choice).toEqual({ type: 'auto' });
    expect(build({ tools, tool_choice: 'required' }).tool_choice).toEqual({ type: 'any' });
    expect(build({ tools, tool_choice: 'none' }).tool_choice).toEqual({ type: 'none' });
    expect(
      build({ tools, tool_choice: { type: 'function', function: { name: 'now' } } }).tool_choice,
    ).toEqual({
      type: 'tool',
      name: 'now',
    });
    expectRequestError(
      () => build({ tools, tool_choice: 'sometimes' }),
      400,
      /tool_choice must be/,
      'tool_choice',
    );
  });

  it('maps parallel_tool_calls: false onto tool_choice', () => {
    const tools: ChatRequest['tools'] = [{ type: 'function', function: { name: 'f' } }];
    expect(build({ tools, parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'auto',
      disable_parallel_tool_use: true,
    });
    expect(build({ tools, tool_choice: 'required', parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'any',
      disable_parallel_tool_use: true,
    });
    expect(build({ tools, tool_choice: 'none', parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'none',
    });
    expect(build({ parallel_tool_calls: false })).not.toHaveProperty('tool_choice');
  });

  it('rejects non-function tools with 422 as MLflow does', () => {
    expectRequestError(
      () => build({ tools: [{ type: 'uc_function', function: { name: 'x' } }] }),
      422,
      'Only function calling tool is supported, but received tool type uc_function',
      'tools[0]',
    );
  });
});

describe('parseAnthropicMessage + toChatCompletion', () => {
  it('translates a text answer', () => {
    const completion = toChatCompletion(parseAnthropicMessage(anthropicMessage()));
    expect(completion).toEqual({
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'claude-sonnet-4-5-20250929',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi there' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 },
    });
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(5);
  });

  it('concatenates text blocks, drops thinking and maps tool_use', () => {
    const completion = toChatCompletion(
      parseAnthropicMessage(
        anthropicMessage({
          content: [
            { type: 'thinking', thinking: 'secret reasoning', signature: 'sig' },
            { type: 'text', text: 'Checking ' },
            { type: 'text', text: 'now.' },
            { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris', days: 2 } },
          ],
          stop_reason: 'tool_use',
        }),
      ),
    );
    expect(completion.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: 'Checking now.',
        tool_calls: [
          {
            id: 'toolu_01',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris","days":2}' },
          },
        ],
      },
      finish_reason: 'tool_calls',
    });
    expect(JSON.stringify(completion)).not.toContain('secret reasoning');
  });

  it('returns null content when there is no text block', () => {
    const completion = toChatCompletion(
      parseAnthropicMessage(
        anthropicMessage({ content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] }),
      ),
    );
    expect(completion.choices[0].message.content).toBeNull();
  });

  it('counts cache reads and writes as prompt tokens', () => {
    const completion = toChatCompletion(
      parseAnthropicMessage(
        anthropicMessage({
          usage: {
            input_tokens: 10,
            cache_read_input_tokens: 100,
            cache_creation_input_tokens: 20,
            output_tokens: 5,
          },
        }),
      ),
    );
    expect(completion.usage).toEqual({
      prompt_tokens: 130,
      completion_tokens: 5,
      total_tokens: 135,
      prompt_tokens_details: { cached_tokens: 100 },
    });
  });

  it.each([
    ['max_tokens', 'length'],
    ['refusal', 'content_filter'],
    ['stop_sequence', 'stop'],
  ])('maps stop_reason %s', (stopReason, finishReason) => {
    expect(
      toChatCompletion(parseAnthropicMessage(anthropicMessage({ stop_reason: stopReason }))).choices[0]
        .finish_reason,
    ).toBe(finishReason);
  });

  it.each([
    ['a string', 'hello'],
    ['an array', []],
    ['an error body', { type: 'error', error: { type: 'api_error', message: 'x' } }],
    ['no id', anthropicMessage({ id: undefined })],
    ['no model', anthropicMessage({ model: 7 })],
    ['content not an array', anthropicMessage({ content: 'text' })],
    ['a block without type', anthropicMessage({ content: [{ text: 'x' }] })],
    ['a text block without text', anthropicMessage({ content: [{ type: 'text' }] })],
    ['a tool_use without input', anthropicMessage({ content: [{ type: 'tool_use', id: 't', name: 'f' }] })],
    ['no usage', anthropicMessage({ usage: undefined })],
    ['negative usage', anthropicMessage({ usage: { input_tokens: -1, output_tokens: 1 } })],
    ['a numeric stop_reason', anthropicMessage({ stop_reason: 3 })],
  ])('rejects %s as a protocol error', (_label, body) => {
    expect(() => parseAnthropicMessage(body)).toThrow(UpstreamProtocolError);
  });
});
