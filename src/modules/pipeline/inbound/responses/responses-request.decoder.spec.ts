import { GatewayException } from 'src/common/errors/gateway.exception';
import { decodeResponsesRequest } from 'src/modules/pipeline/inbound/responses/responses-request.decoder';

function refusal(body: unknown): { status: number; param: unknown } {
  try {
    decodeResponsesRequest(body);
  } catch (e) {
    const ex = e as GatewayException;
    return { status: ex.status, param: ex.options.param };
  }
  throw new Error('accepted');
}

describe('decodeResponsesRequest', () => {
  it('a string input with instructions: a system and a user message', () => {
    expect(decodeResponsesRequest({ model: 'm', instructions: 'Be brief.', input: 'hi' })).toEqual({
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
    });
  });

  it('consecutive function_call items join one assistant turn; outputs become tool messages', () => {
    const request = decodeResponsesRequest({
      input: [
        { role: 'user', content: 'weather in Paris and Rome?' },
        { type: 'function_call', call_id: 'c1', name: 'w', arguments: '{"l":"Paris"}' },
        { type: 'function_call', call_id: 'c2', name: 'w', arguments: '{"l":"Rome"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
        { type: 'function_call_output', call_id: 'c2', output: 'rain' },
      ],
    });
    expect(request.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'w', arguments: '{"l":"Paris"}' } },
          { id: 'c2', type: 'function', function: { name: 'w', arguments: '{"l":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'c2', content: 'rain' },
    ]);
  });

  it('flat function tools, a named tool_choice, sampling, max_output_tokens, stream with usage', () => {
    expect(
      decodeResponsesRequest({
        input: 'x',
        tools: [
          { type: 'function', name: 'w', description: 'd', parameters: { type: 'object' }, strict: true },
        ],
        tool_choice: { type: 'function', name: 'w' },
        temperature: 1.5,
        top_p: 0.5,
        max_output_tokens: 12,
        stream: true,
      }),
    ).toMatchObject({
      tools: [
        {
          type: 'function',
          function: { name: 'w', description: 'd', parameters: { type: 'object' }, strict: true },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'w' } },
      temperature: 1.5,
      top_p: 0.5,
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('store, previous_response_id and metadata never reach the canonical request', () => {
    const request = decodeResponsesRequest({
      input: 'x',
      store: false,
      previous_response_id: 'resp_1',
      metadata: { a: 'b' },
    });
    expect(Object.keys(request).sort()).toEqual(['messages']);
  });

  it('text.format json_schema becomes response_format', () => {
    expect(
      decodeResponsesRequest({
        input: 'x',
        text: { format: { type: 'json_schema', name: 'a', strict: true, schema: { type: 'object' } } },
      }).response_format,
    ).toEqual({ type: 'json_schema', json_schema: { name: 'a', strict: true, schema: { type: 'object' } } });
  });

  it.each([
    [{}, 'input'],
    [{ input: 5 }, 'input'],
    [{ input: [{ type: 'message', role: 'robot', content: 'x' }] }, 'input.0.role'],
    [
      { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] },
      'input.0.content.0.type',
    ],
    [{ input: [{ type: 'function_call', name: 'w', arguments: '{}' }] }, 'input.0.call_id'],
    [{ input: 'x', tools: [{ type: 'file_search' }] }, 'tools.0.type'],
    [{ input: 'x', tool_choice: 'sometimes' }, 'tool_choice'],
    [{ input: 'x', top_p: 2 }, 'top_p'],
    [{ input: 'x', max_output_tokens: 0 }, 'max_output_tokens'],
    [{ input: 'x', text: { format: { type: 'json_schema', name: 'a' } } }, 'text.format.schema'],
    [{ input: 'x', stream: 'yes' }, 'stream'],
    [{ input: 'x', store: 1 }, 'store'],
    [{ input: 'x', previous_response_id: '' }, 'previous_response_id'],
    [{ input: 'x', metadata: [] }, 'metadata'],
    [
      { input: 'x', metadata: Object.fromEntries([...Array(17).keys()].map((i) => [`k${i}`, 'v'])) },
      'metadata',
    ],
    [{ input: 'x', metadata: { k: 'v'.repeat(513) } }, 'metadata.k'],
    [{ input: 'x', conversation: { id: 'conv_1' } }, 'conversation'],
    [{ input: 'x', background: true }, 'background'],
  ])('refuses %j with a 400 naming %s', (body, param) => {
    expect(refusal(body)).toEqual({ status: 400, param });
  });
});
