import {
  AdapterRequestError,
  ChatRequest,
  UpstreamProtocolError,
} from 'src/modules/providers/provider-adapter';
import {
  parseGeminiResponse,
  toChatCompletion,
  toGeminiChatBody,
  toGeminiCompletionsBody,
} from 'src/modules/providers/adapters/gemini/chat-completions.transform';
import { toFinishReason } from 'src/modules/providers/adapters/gemini/finish-reasons';

const user = (content: ChatRequest['messages'][number]['content']) => ({ role: 'user', content });

function refused(request: Partial<ChatRequest>): AdapterRequestError {
  try {
    toGeminiChatBody({ messages: [user('x')], ...request });
  } catch (error) {
    if (error instanceof AdapterRequestError) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('Gemini request translation', () => {
  it('sends data: URL images as inlineData and refuses remote image URLs', () => {
    const body = toGeminiChatBody({
      messages: [
        user([
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ]),
      ],
    });
    expect(body.contents[0].parts).toEqual([
      { text: 'what is this?' },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
    ]);
    const error = refused({
      messages: [user([{ type: 'image_url', image_url: { url: 'https://x/y.png' } }])],
    });
    expect([error.status, error.message]).toEqual([
      400,
      'messages[0].content: Gemini models take images as base64 data: URLs.',
    ]);
  });

  it('maps tool_choice none/auto and json response formats', () => {
    expect(toGeminiChatBody({ messages: [user('x')], tool_choice: 'none' }).toolConfig).toEqual({
      functionCallingConfig: { mode: 'NONE' },
    });
    expect(
      toGeminiChatBody({ messages: [user('x')], response_format: { type: 'json_object' } }).generationConfig,
    ).toEqual({
      responseMimeType: 'application/json',
    });
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(
      toGeminiChatBody({
        messages: [user('x')],
        response_format: { type: 'json_schema', json_schema: { name: 's', schema } },
        presence_penalty: 0.5,
        n: 2,
      }).generationConfig,
    ).toEqual({
      responseMimeType: 'application/json',
      responseJsonSchema: schema,
      presencePenalty: 0.5,
      candidateCount: 2,
    });
  });

  it('refuses what Gemini cannot express with clear 4xx errors', () => {
    expect(refused({ tools: [{ type: 'retrieval', function: { name: 'x' } }] }).status).toBe(422);
    expect(refused({ tool_choice: 'sometimes' }).message).toBe("tool_choice 'sometimes' is not supported.");
    expect(
      refused({ messages: [user('x'), { role: 'tool', tool_call_id: 'nope', content: '1' }] }).message,
    ).toBe('messages[1].tool_call_id does not match a tool call of an earlier assistant message.');
    const badArgs = refused({
      messages: [
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }],
        },
      ],
    });
    expect(badArgs.message).toBe('messages[0].tool_calls arguments must be a JSON object.');
    expect(refused({ messages: [{ role: 'narrator', content: 'x' }] }).message).toBe(
      "messages[0].role 'narrator' is not supported.",
    );
    expect(refused({ messages: [] }).status).toBe(400);
    expect(refused({ maxOutputTokens: 5 }).message).toBe(
      'Invalid parameter maxOutputTokens. Use max_tokens instead.',
    );
  });

  it('turns a completions prompt (and MLflow system_prompt) into chat turns', () => {
    expect(toGeminiCompletionsBody({ prompt: 'p', system_prompt: 's', max_tokens: 3 })).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'p' }] }],
      systemInstruction: { parts: [{ text: 's' }] },
      generationConfig: { maxOutputTokens: 3 },
    });
    expect(() => toGeminiCompletionsBody({ prompt: ['a', 'b'] })).toThrow(AdapterRequestError);
  });
});

describe('Gemini response translation', () => {
  it('answers a blocked prompt with content_filter and no text', () => {
    const completion = toChatCompletion(
      parseGeminiResponse({
        promptFeedback: { blockReason: 'SAFETY' },
        usageMetadata: { promptTokenCount: 4, totalTokenCount: 4 },
      }),
      'gemini-2.0-flash',
    );
    expect(completion.choices).toEqual([
      { index: 0, message: { role: 'assistant', content: null }, finish_reason: 'content_filter' },
    ]);
    expect(completion.usage).toEqual({ prompt_tokens: 4, completion_tokens: 0, total_tokens: 4 });
    expect(completion.model).toBe('gemini-2.0-flash');
    expect(completion.id).toMatch(/^gemini-[0-9a-f-]{36}$/);
  });

  it('refuses bodies that are not a GenerateContentResponse', () => {
    expect(() => parseGeminiResponse([])).toThrow(UpstreamProtocolError);
    expect(() => parseGeminiResponse({ candidates: 'x' })).toThrow(UpstreamProtocolError);
    expect(() => parseGeminiResponse({ something: 1 })).toThrow(UpstreamProtocolError);
  });

  it('maps finish reasons the way OpenAI clients read them', () => {
    expect(
      ['STOP', 'MAX_TOKENS', 'SAFETY', 'RECITATION', 'PROHIBITED_CONTENT', 'OTHER', 'NEW_REASON'].map((r) =>
        toFinishReason(r, false),
      ),
    ).toEqual(['stop', 'length', 'content_filter', 'content_filter', 'content_filter', 'stop', 'stop']);
    expect(toFinishReason('STOP', true)).toBe('tool_calls');
    expect(toFinishReason('MAX_TOKENS', true)).toBe('length');
  });
});
