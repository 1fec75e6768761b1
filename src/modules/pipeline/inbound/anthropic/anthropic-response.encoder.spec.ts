import {
  AnthropicStreamEncoder,
  encodeAnthropicMessage,
  stopInfo,
} from 'src/modules/pipeline/inbound/anthropic/anthropic-response.encoder';
import type { ChatCompletionChunk } from 'src/modules/providers/provider-adapter';

function events(sse: string): { event: string; data: Record<string, unknown> }[] {
  return sse
    .split('\n\n')
    .filter(Boolean)
    .map((frame) => {
      const [eventLine, dataLine] = frame.split('\n');
      return { event: eventLine.slice('event: '.length), data: JSON.parse(dataLine.slice('data: '.length)) };
    });
}

const chunk = (
  delta: ChatCompletionChunk['choices'][0]['delta'],
  finish: string | null = null,
): ChatCompletionChunk => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'up-model',
  choices: [{ index: 0, delta, finish_reason: finish }],
});

describe('canonical answers → Anthropic messages', () => {
  it('a JSON answer: text and tool_use blocks, stop reason, usage', () => {
    const message = encodeAnthropicMessage(
      {
        id: 'chatcmpl-abc',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-x',
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: 'Checking.',
              tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":[1]}' } }],
            },
          },
        ],
        usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
      },
      undefined,
      'req-1',
    );
    expect(message).toEqual({
      id: 'msg_abc',
      type: 'message',
      role: 'assistant',
      model: 'gpt-x',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'c1', name: 'f', input: { a: [1] } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 11, output_tokens: 7 },
    });
  });

  it('maps finish reasons; a matched stop string the caller sent is a stop_sequence', () => {
    expect(stopInfo('stop', undefined, undefined)).toEqual({ stop_reason: 'end_turn', stop_sequence: null });
    expect(stopInfo('length', undefined, undefined).stop_reason).toBe('max_tokens');
    expect(stopInfo('tool_calls', undefined, undefined).stop_reason).toBe('tool_use');
    expect(stopInfo('content_filter', undefined, undefined).stop_reason).toBe('refusal');
    expect(stopInfo('stop', 'END', { messages: [], stop: ['END'] })).toEqual({
      stop_reason: 'stop_sequence',
      stop_sequence: 'END',
    });
    expect(stopInfo('stop', 'OTHER', { messages: [], stop: ['END'] }).stop_reason).toBe('end_turn');
  });

  it('a stream: message_start, text block, tool block with input_json_delta, message_delta with usage', () => {
    const encoder = new AnthropicStreamEncoder(undefined, 'req-1');
    let sse = '';
    sse += encoder.chunk(chunk({ role: 'assistant', content: '' }));
    sse += encoder.chunk(chunk({ content: 'Hi ' }));
    sse += encoder.chunk(chunk({ content: 'there' }));
    sse += encoder.chunk(
      chunk({
        tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '' } }],
      }),
    );
    sse += encoder.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }));
    sse += encoder.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }));
    sse += encoder.chunk(
      chunk({ tool_calls: [{ index: 1, id: 'c2', function: { name: 'g', arguments: '{}' } }] }),
    );
    sse += encoder.chunk(chunk({}, 'tool_calls'));
    sse += encoder.chunk({
      ...chunk({}),
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
    });
    sse += encoder.end();
    const parsed = events(sse);
    expect(parsed.map((e) => e.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const e of parsed) expect(e.data.type).toBe(e.event);
    expect(parsed[0].data.message).toMatchObject({
      id: 'msg_1',
      model: 'up-model',
      role: 'assistant',
      content: [],
    });
    expect(parsed[2].data).toEqual({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    });
    expect(parsed[4].data).toEqual({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: 'there' },
    });
    expect(parsed[6].data).toEqual({
      type: 'content_block_start',
      index: 1,
      content_block: { type: 'tool_use', id: 'c1', name: 'f', input: {} },
    });
    expect(parsed[8].data).toEqual({
      type: 'content_block_delta',
      index: 1,
      delta: { type: 'input_json_delta', partial_json: '1}' },
    });
    expect(parsed[10].data).toMatchObject({ index: 2, content_block: { id: 'c2', name: 'g' } });
    expect(parsed[13].data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 9, output_tokens: 4 },
    });
  });

  it('a failure after the start is an Anthropic error event', () => {
    const encoder = new AnthropicStreamEncoder(undefined, 'r');
    expect(
      events(encoder.error({ status: 502, message: 'Upstream stream failed', code: 'upstream_error' })),
    ).toEqual([
      {
        event: 'error',
        data: { type: 'error', error: { type: 'api_error', message: 'Upstream stream failed' } },
      },
    ]);
    expect(
      events(encoder.error({ status: 400, message: 'blocked', code: 'content_policy_violation' }))[0].data
        .error,
    ).toEqual({ type: 'invalid_request_error', message: 'blocked' });
  });

  it('an empty stream still opens and closes a message', () => {
    const encoder = new AnthropicStreamEncoder(undefined, 'req-9');
    expect(events(encoder.end()).map((e) => e.event)).toEqual([
      'message_start',
      'ping',
      'message_delta',
      'message_stop',
    ]);
  });
});
