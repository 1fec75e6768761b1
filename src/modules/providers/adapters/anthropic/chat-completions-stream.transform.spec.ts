import { CanonicalChunk, SseEvent, StreamStep } from 'src/modules/providers/provider-adapter';
import { AnthropicChatStreamTranslator } from 'src/modules/providers/adapters/anthropic/chat-completions-stream.transform';

function event(type: string, data: Record<string, unknown>): SseEvent {
  return { event: type, data: JSON.stringify({ type, ...data }) };
}

const messageStart = event('message_start', {
  message: {
    id: 'msg_stream_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 25, cache_read_input_tokens: 5, cache_creation_input_tokens: 0, output_tokens: 1 },
  },
});

function run(events: SseEvent[]): {
  translator: AnthropicChatStreamTranslator;
  steps: StreamStep[];
  chunks: CanonicalChunk[];
} {
  const translator = new AnthropicChatStreamTranslator();
  const steps = events.map((e) => translator.push(e));
  return { translator, steps, chunks: steps.flatMap((s) => s.chunks) };
}

function deltas(chunks: CanonicalChunk[]): unknown[] {
  return chunks.map((c) => (c.object === 'chat.completion.chunk' ? (c.choices[0]?.delta ?? null) : null));
}

describe('AnthropicChatStreamTranslator', () => {
  it('translates a text stream into OpenAI chunks with a usage chunk', () => {
    const { translator, steps, chunks } = run([
      messageStart,
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      event('ping', {}),
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hello' } }),
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: ' world' } }),
      event('content_block_stop', { index: 0 }),
      event('message_delta', {
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: 15 },
      }),
      event('message_stop', {}),
    ]);
    expect(deltas(chunks)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Hello' },
      { content: ' world' },
      {},
      null,
    ]);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({
        id: 'msg_stream_1',
        object: 'chat.completion.chunk',
        model: 'claude-sonnet-4-5-20250929',
      });
      expect(typeof chunk.created).toBe('number');
    }
    expect(chunks[3]).toMatchObject({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    expect(chunks[4]).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: 30,
        completion_tokens: 15,
        total_tokens: 45,
        prompt_tokens_details: { cached_tokens: 5 },
      },
    });
    expect(steps.map((s) => s.done ?? false)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    expect(translator.finished).toBe(true);
  });

  it('numbers tool calls from 0 although the text block takes Anthropic index 0', () => {
    const { chunks } = run([
      messageStart,
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Checking.' } }),
      event('content_block_stop', { index: 0 }),
      event('content_block_start', {
        index: 1,
        content_block: { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: {} },
      }),
      event('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '' } }),
      event('content_block_delta', {
        index: 1,
        delta: { type: 'input_json_delta', partial_json: '{"city":' },
      }),
      event('content_block_delta', {
        index: 1,
        delta: { type: 'input_json_delta', partial_json: '"Paris"}' },
      }),
      event('content_block_stop', { index: 1 }),
      event('content_block_start', {
        index: 2,
        content_block: { type: 'tool_use', id: 'toolu_b', name: 'now', input: {} },
      }),
      event('content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '{}' } }),
      event('content_block_stop', { index: 2 }),
      event('message_delta', {
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { output_tokens: 40 },
      }),
    ]);
    expect(deltas(chunks)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Checking.' },
      {
        tool_calls: [
          { index: 0, id: 'toolu_a', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ],
      },
      { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
      {
        tool_calls: [{ index: 1, id: 'toolu_b', type: 'function', function: { name: 'now', arguments: '' } }],
      },
      { tool_calls: [{ index: 1, function: { arguments: '{}' } }] },
      {},
      null,
    ]);
    expect(chunks[7]).toMatchObject({ choices: [{ finish_reason: 'tool_calls' }] });
  });

  it('drops thinking blocks and signature deltas', () => {
    const { chunks } = run([
      messageStart,
      event('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }),
      event('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'private plan' } }),
      event('content_block_delta', {
        index: 0,
        delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM' },
      }),
      event('content_block_stop', { index: 0 }),
      event('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }),
      event('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Answer' } }),
    ]);
    expect(deltas(chunks)).toEqual([{ role: 'assistant', content: '' }, { content: 'Answer' }]);
    expect(JSON.stringify(chunks)).not.toContain('private plan');
  });

  it('maps max_tokens to length and takes input counts repeated in message_delta', () => {
    const { chunks, translator } = run([
      messageStart,
      event('message_delta', {
        delta: { stop_reason: 'max_tokens', stop_sequence: null },
        usage: { input_tokens: 26, output_tokens: 9 },
      }),
    ]);
    expect(chunks[1]).toMatchObject({ choices: [{ finish_reason: 'length' }] });
    expect(chunks[2].usage).toEqual({
      prompt_tokens: 31,
      completion_tokens: 9,
      total_tokens: 40,
      prompt_tokens_details: { cached_tokens: 5 },
    });
    expect(translator.finished).toBe(true);
  });

  it('is not finished before message_delta carries a stop reason', () => {
    const { translator, chunks } = run([
      messageStart,
      event('message_delta', { delta: { stop_reason: null }, usage: { output_tokens: 3 } }),
    ]);
    expect(translator.finished).toBe(false);
    expect(chunks).toHaveLength(1);
  });

  it('reports an error event', () => {
    const { steps } = run([
      messageStart,
      event('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
    ]);
    expect(steps[1]).toEqual({ chunks: [], error: { message: 'Overloaded', type: 'overloaded_error' } });
  });

  it('reports an error event without details generically', () => {
    expect(new AnthropicChatStreamTranslator().push(event('error', {}))).toEqual({
      chunks: [],
      error: { message: 'Anthropic reported a stream error' },
    });
  });

  it.each([
    ['unparseable data', { event: 'content_block_delta', data: '{"type":"content_block_delta",' }],
    ['non-object data', { data: '[1,2]' }],
    [
      'delta before message_start',
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'x' } }),
    ],
    ['message_start without id', event('message_start', { message: { model: 'm' } })],
  ])('flags %s as malformed', (_label, bad) => {
    expect(new AnthropicChatStreamTranslator().push(bad)).toEqual({
      chunks: [],
      error: { message: 'malformed upstream stream event' },
    });
  });

  it('flags malformed events mid-stream', () => {
    const { steps } = run([
      messageStart,
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 7 } }),
      event('content_block_delta', { index: 5, delta: { type: 'input_json_delta', partial_json: '{' } }),
      event('message_start', { message: { id: 'again', model: 'm' } }),
    ]);
    for (const step of steps.slice(1))
      expect(step.error).toEqual({ message: 'malformed upstream stream event' });
  });

  it('ignores unknown event types and uses the SSE event name when data has no type', () => {
    const translator = new AnthropicChatStreamTranslator();
    expect(translator.push(event('some_new_event', { x: 1 }))).toEqual({ chunks: [] });
    expect(translator.push({ event: 'ping', data: '{}' })).toEqual({ chunks: [] });
  });
});
