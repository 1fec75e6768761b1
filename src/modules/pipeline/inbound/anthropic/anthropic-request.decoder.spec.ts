import { GatewayException } from 'src/common/errors/gateway.exception';
import { decodeAnthropicRequest } from 'src/modules/pipeline/inbound/anthropic/anthropic-request.decoder';
import { validateChat } from 'src/modules/pipeline/request-validation';

const decode = (body: unknown) => decodeAnthropicRequest(body, 'upstream');

function refusal(body: unknown, answer: 'upstream' | 'token-count' = 'upstream'): [number, string] {
  try {
    decodeAnthropicRequest(body, answer);
  } catch (error) {
    if (error instanceof GatewayException) return [error.status, error.message];
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('Anthropic Messages request → canonical chat request', () => {
  it('translates system blocks, sampling, stop sequences, tool choice and structured output', () => {
    const request = decode({
      model: 'm',
      max_tokens: 10,
      system: [
        { type: 'text', text: 'one' },
        { type: 'text', text: 'two' },
      ],
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.2,
      top_p: 0.9,
      top_k: 5,
      stop_sequences: ['X', 'Y'],
      tools: [{ name: 't', input_schema: { type: 'object' } }],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
      thinking: { type: 'enabled', budget_tokens: 1024 },
      stream: true,
    });
    expect(request).toEqual({
      model: 'm',
      max_tokens: 10,
      messages: [
        { role: 'system', content: 'one\ntwo' },
        { role: 'user', content: 'hi' },
      ],
      temperature: 0.4,
      top_p: 0.9,
      top_k: 5,
      stop: ['X', 'Y'],
      tools: [{ type: 'function', function: { name: 't', parameters: { type: 'object' } } }],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'output', schema: { type: 'object' }, strict: true },
      },
      stream: true,
      stream_options: { include_usage: true },
    });
    // What the decoder makes passes the canonical validation every surface runs.
    expect(() => validateChat(request)).not.toThrow();
  });

  it('tool results come first as tool messages, an error result says so; thinking blocks are dropped', () => {
    const request = decode({
      model: 'm',
      max_tokens: 10,
      messages: [
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 's' },
            { type: 'tool_use', id: 'a', name: 'f', input: { x: 1 } },
            { type: 'tool_use', id: 'b', name: 'g', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'then' },
            { type: 'tool_result', tool_use_id: 'a', content: 'ok' },
            { type: 'tool_result', tool_use_id: 'b', content: 'boom', is_error: true },
          ],
        },
      ],
    });
    expect(request.messages).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'f', arguments: '{"x":1}' } },
          { id: 'b', type: 'function', function: { name: 'g', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'a', content: 'ok' },
      { role: 'tool', tool_call_id: 'b', content: 'Error: boom' },
      { role: 'user', content: 'then' },
    ]);
  });

  it('url images, tool_choice none and any', () => {
    const request = decode({
      model: 'm',
      max_tokens: 1,
      messages: [
        { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://x/i.png' } }] },
      ],
      tool_choice: { type: 'none' },
    });
    expect(request.messages).toEqual([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/i.png' } }] },
    ]);
    expect(request.tool_choice).toBe('none');
    expect(
      decode({
        model: 'm',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'x' }],
        tool_choice: { type: 'any' },
      }).tool_choice,
    ).toBe('required');
  });

  it('count_tokens bodies need no max_tokens and never stream', () => {
    const request = decodeAnthropicRequest(
      { model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true },
      'token-count',
    );
    expect(request).toEqual({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
  });

  it.each([
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }] }, 'max_tokens: Field required'],
    [
      { model: 'm', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] },
      'max_tokens: Input should be a positive integer',
    ],
    [{ model: 'm', max_tokens: 1 }, 'messages: Field required'],
    [{ model: 'm', max_tokens: 1, messages: [] }, 'messages: at least one message is required'],
    [
      { model: 'm', max_tokens: 1, messages: [{ role: 'system', content: 'x' }] },
      "messages.0.role: Input should be 'user' or 'assistant'",
    ],
    [
      { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 5 }] },
      'messages.0.content: Input should be a valid string or a list of blocks',
    ],
    [
      {
        model: 'm',
        max_tokens: 1,
        messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }],
      },
      "messages.0.content.0.type: content blocks of type 'document' are not supported by this gateway",
    ],
    [
      {
        model: 'm',
        max_tokens: 1,
        messages: [{ role: 'assistant', content: [{ type: 'tool_result', tool_use_id: 'a' }] }],
      },
      'messages.0.content.0: tool_result blocks are only allowed in user messages',
    ],
    [
      { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }], temperature: 1.5 },
      'temperature: Input should be a number between 0 and 1',
    ],
    [
      { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }], tools: [{ name: 't' }] },
      'tools.0.input_schema: Field required',
    ],
    [
      {
        model: 'm',
        max_tokens: 1,
        messages: [{ role: 'user', content: 'x' }],
        tool_choice: { type: 'tool' },
      },
      'tool_choice.name: Field required',
    ],
    [
      { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }], stop_sequences: 'X' },
      'stop_sequences: Input should be a list of strings',
    ],
    ['not an object', 'Request body must be a JSON object'],
  ])('refuses %j with 400 %s', (body, message) => {
    expect(refusal(body)).toEqual([400, message]);
  });
});
