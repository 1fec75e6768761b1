import {
  encodeResponse,
  ResponsesStreamEncoder,
} from 'src/modules/pipeline/inbound/responses/responses-response.encoder';
import type { ChatCompletionChunk } from 'src/modules/providers/provider-adapter';

function chunk(delta: Record<string, unknown>, finish: string | null = null): ChatCompletionChunk {
  return {
    id: 'chatcmpl-abc',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

function events(sse: string): { event: string; data: Record<string, unknown> }[] {
  return sse
    .split('\n\n')
    .filter((f) => f !== '')
    .map((f) => {
      const [event, data] = f.split('\n');
      return {
        event: event.slice('event: '.length),
        data: JSON.parse(data.slice('data: '.length)) as Record<string, unknown>,
      };
    });
}

describe('Responses encoders', () => {
  it('a chat answer with text and a tool call: a message item and a function_call item', () => {
    const response = encodeResponse(
      {
        id: 'chatcmpl-abc',
        object: 'chat.completion',
        created: 1700000000,
        model: 'm',
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: 'Checking.',
              tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'w', arguments: '{}' } }],
            },
          },
        ],
        usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
      },
      { messages: [{ role: 'user', content: 'x' }] },
      'req-1',
    );
    expect(response).toMatchObject({
      id: 'resp_abc',
      object: 'response',
      created_at: 1700000000,
      status: 'completed',
      instructions: null,
      output: [
        { type: 'message', content: [{ type: 'output_text', text: 'Checking.', annotations: [] }] },
        { type: 'function_call', call_id: 'call_9', name: 'w', arguments: '{}', status: 'completed' },
      ],
      usage: { input_tokens: 7, output_tokens: 3, total_tokens: 10 },
    });
  });

  it('a stream: numbered events, text item closed before the tool call item opens', () => {
    const encoder = new ResponsesStreamEncoder(undefined, 'req-1');
    let out = encoder.chunk(chunk({ role: 'assistant', content: 'Hi' }));
    out += encoder.chunk(
      chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'w', arguments: '{"a"' } }] }),
    );
    out += encoder.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }, 'tool_calls'));
    out += encoder.chunk({
      ...chunk({}),
      choices: [],
      usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 },
    });
    out += encoder.end();
    const all = events(out);
    expect(all.map((e) => e.data.sequence_number)).toEqual(all.map((_, i) => i));
    expect(all.every((e) => e.data.type === e.event)).toBe(true);
    expect(all.map((e) => e.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(all[11].data.arguments).toBe('{"a":1}');
    expect(all[13].data.response).toMatchObject({
      id: 'resp_abc',
      status: 'completed',
      output: [
        { type: 'message', content: [{ text: 'Hi' }] },
        { type: 'function_call', call_id: 'call_1', arguments: '{"a":1}' },
      ],
      usage: { input_tokens: 4, output_tokens: 2, total_tokens: 6 },
    });
  });

  it('a stream cut by max tokens ends in response.incomplete', () => {
    const encoder = new ResponsesStreamEncoder(undefined, 'req-1');
    const out = encoder.chunk(chunk({ content: 'one' }, 'length')) + encoder.end();
    const last = events(out).at(-1)!;
    expect(last.event).toBe('response.incomplete');
    expect(last.data.response).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
  });

  it("a stored turn: the gateway's id, store, previous_response_id, metadata and instructions echoed; the final object handed over once", () => {
    const turn = {
      id: 'resp_turn',
      instructions: 'be brief',
      previousResponseId: 'resp_prev',
      store: true,
      metadata: { k: 'v' },
    };
    const request = {
      messages: [
        { role: 'system' as const, content: 'be brief' },
        { role: 'user' as const, content: 'x' },
      ],
    };
    const kept: Record<string, unknown>[] = [];
    const encoder = new ResponsesStreamEncoder(request, 'req-1', turn, (r) => kept.push(r));
    const out = encoder.chunk(chunk({ content: 'hi' }, 'stop')) + encoder.end();
    const completed = events(out).at(-1)!.data.response as Record<string, unknown>;
    expect(completed).toMatchObject({
      id: 'resp_turn',
      store: true,
      previous_response_id: 'resp_prev',
      metadata: { k: 'v' },
      instructions: 'be brief',
    });
    expect(kept).toEqual([completed]);
    // A failed stream hands nothing over.
    const failing = new ResponsesStreamEncoder(request, 'req-2', turn, (r) => kept.push(r));
    failing.chunk(chunk({ content: 'hi' }));
    failing.error({ status: 502, message: 'upstream broke', code: 'upstream_error' });
    expect(kept).toHaveLength(1);
  });
});
