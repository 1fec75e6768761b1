import {
  encodeGeminiResponse,
  GeminiStreamEncoder,
} from 'src/modules/pipeline/inbound/gemini/gemini-response.encoder';
import type { ChatCompletion, ChatCompletionChunk } from 'src/modules/providers/provider-adapter';

const chunk = (
  delta: ChatCompletionChunk['choices'][number]['delta'],
  finish: string | null = null,
  usage?: ChatCompletionChunk['usage'],
): ChatCompletionChunk => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm-1',
  choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }],
  ...(usage ? { usage } : {}),
});

describe('Gemini response encoding', () => {
  it('encodes text, tool calls, finish reasons and usage', () => {
    const response: ChatCompletion = {
      id: 'chatcmpl-9',
      object: 'chat.completion',
      created: 1,
      model: 'm-1',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Checking.',
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 },
    };
    expect(encodeGeminiResponse(response, 'req-1')).toEqual({
      candidates: [
        {
          content: {
            role: 'model',
            parts: [{ text: 'Checking.' }, { functionCall: { id: 'c1', name: 'f', args: { a: 1 } } }],
          },
          finishReason: 'STOP',
          index: 0,
        },
      ],
      usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 6, totalTokenCount: 10 },
      modelVersion: 'm-1',
      responseId: 'chatcmpl-9',
    });
    for (const [finish, reason] of [
      ['length', 'MAX_TOKENS'],
      ['content_filter', 'SAFETY'],
      ['weird', 'OTHER'],
    ]) {
      const other = { ...response, choices: [{ ...response.choices[0], finish_reason: finish }] };
      expect(encodeGeminiResponse(other, 'r').candidates).toMatchObject([{ finishReason: reason }]);
    }
  });

  it('streams SSE events, with gathered tool calls, finish and usage in the last', () => {
    const encoder = new GeminiStreamEncoder('sse', 'req-1');
    expect(encoder.contentType).toBeUndefined();
    const out = [
      encoder.chunk(chunk({ role: 'assistant', content: '' })),
      encoder.chunk(chunk({ content: 'Hi' })),
      encoder.chunk(
        chunk({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'f', arguments: '{"a":' } }] }),
      ),
      encoder.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '2}' } }] }, 'tool_calls')),
      encoder.chunk(chunk({}, null, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 })),
      encoder.end(),
    ];
    expect(out.slice(0, 5).filter((s) => s !== '')).toHaveLength(1);
    const events = out
      .join('')
      .split('\r\n\r\n')
      .filter(Boolean)
      .map((e) => JSON.parse(e.replace(/^data: /, '')) as Record<string, unknown>);
    expect(events).toEqual([
      {
        candidates: [{ content: { role: 'model', parts: [{ text: 'Hi' }] }, index: 0 }],
        modelVersion: 'm-1',
        responseId: 'chatcmpl-1',
      },
      {
        candidates: [
          {
            content: { role: 'model', parts: [{ functionCall: { id: 'c1', name: 'f', args: { a: 2 } } }] },
            finishReason: 'STOP',
            index: 0,
          },
        ],
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 },
        modelVersion: 'm-1',
        responseId: 'chatcmpl-1',
      },
    ]);
  });

  it("streams Google's JSON array without alt=sse, and ends a failed one with an error item", () => {
    const encoder = new GeminiStreamEncoder(undefined, 'req-1');
    expect(encoder.contentType).toBe('application/json; charset=utf-8');
    const ok =
      encoder.chunk(chunk({ content: 'a' })) +
      encoder.chunk(chunk({ content: 'b' }, 'length')) +
      encoder.end();
    const items = JSON.parse(ok) as { candidates: { finishReason?: string }[] }[];
    expect(items).toHaveLength(3);
    expect(items[2].candidates[0].finishReason).toBe('MAX_TOKENS');

    const failing = new GeminiStreamEncoder(undefined, 'req-2');
    const broken =
      failing.chunk(chunk({ content: 'a' })) +
      failing.error({ status: 502, message: 'upstream went away', code: 'upstream_error' });
    expect((JSON.parse(broken) as unknown[])[1]).toEqual({
      error: { code: 502, message: 'upstream went away', status: 'UNAVAILABLE' },
    });
  });
});
