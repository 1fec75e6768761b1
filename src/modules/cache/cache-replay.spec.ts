import { chunksFromResponse, responseFromChunks } from 'src/modules/cache/cache-replay';
import { ChatCompletion, ChatCompletionChunk, TextCompletion } from 'src/modules/providers/provider-adapter';

const chat: ChatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini-2024-07-18',
  system_fingerprint: 'fp_1',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'hello there', refusal: null },
      finish_reason: 'stop',
    },
    {
      index: 1,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"a":1}' } },
        ],
      },
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
};

describe('chunksFromResponse / responseFromChunks', () => {
  it('turns a chat answer into OpenAI-shaped chunks and back without loss', () => {
    const chunks = chunksFromResponse('chat', chat) as ChatCompletionChunk[];
    expect(chunks.map((c) => c.object)).toEqual(Array(4).fill('chat.completion.chunk'));
    expect(chunks[0].choices[0]).toEqual({
      index: 0,
      delta: { role: 'assistant', content: 'hello there', refusal: null },
      finish_reason: null,
    });
    expect(chunks[1].choices[0].delta.tool_calls?.[0]).toEqual({
      index: 0,
      id: 'call_1',
      type: 'function',
      function: { name: 'get_weather', arguments: '{"a":1}' },
    });
    expect(chunks[2].choices.map((c) => c.finish_reason)).toEqual(['stop', 'tool_calls']);
    expect(chunks[3]).toMatchObject({ choices: [], usage: chat.usage, system_fingerprint: 'fp_1' });
    expect(responseFromChunks('chat', chunks)).toEqual(chat);
  });

  it('assembles streamed deltas (content pieces, tool-call arguments) into one answer', () => {
    const base = { id: 's1', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };
    const chunks: ChatCompletionChunk[] = [
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: 'echo: ' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] },
      {
        ...base,
        choices: [
          {
            index: 0,
            delta: {
              tool_calls: [
                { index: 0, id: 'c', type: 'function', function: { name: 'f', arguments: '{"x"' } },
              ],
            },
            finish_reason: null,
          },
        ],
      },
      {
        ...base,
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] },
            finish_reason: null,
          },
        ],
      },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      { ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
    ];
    expect(responseFromChunks('chat', chunks)).toEqual({
      id: 's1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'echo: hi',
            refusal: null,
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }],
          },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    });
    expect(responseFromChunks('chat', [])).toBeUndefined();
  });

  it('handles text completions both ways', () => {
    const completion: TextCompletion = {
      id: 'cmpl-1',
      object: 'text_completion',
      created: 5,
      model: 'gpt-3.5-turbo-instruct',
      choices: [{ index: 0, text: 'echo: hi', finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    };
    const chunks = chunksFromResponse('completions', completion);
    expect(chunks).toHaveLength(3);
    expect(chunks[0].object).toBe('text_completion');
    expect(responseFromChunks('completions', chunks)).toEqual(completion);
  });
});
