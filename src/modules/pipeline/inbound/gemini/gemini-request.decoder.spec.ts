import { GatewayException } from 'src/common/errors/gateway.exception';
import { decodeGeminiRequest, jsonSchema } from 'src/modules/pipeline/inbound/gemini/gemini-request.decoder';

const refusal = (body: unknown): { status: number; message: string } => {
  try {
    decodeGeminiRequest(body, 'upstream', false);
  } catch (error) {
    if (error instanceof GatewayException) return { status: error.status, message: error.message };
    throw error;
  }
  throw new Error('not refused');
};

describe('decodeGeminiRequest', () => {
  it('translates contents, system instruction, images and generation config', () => {
    const request = decodeGeminiRequest(
      {
        systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Be kind.' }] },
        contents: [
          {
            role: 'user',
            parts: [{ text: 'what is it? ' }, { inlineData: { mimeType: 'image/png', data: 'iVBOR' } }],
          },
          { role: 'model', parts: [{ text: 'A cat.' }] },
          { parts: [{ text: 'sure?' }] },
        ],
        generationConfig: {
          temperature: 1.5,
          topP: 0.5,
          topK: 40,
          maxOutputTokens: 10,
          stopSequences: ['x'],
          candidateCount: 1,
          responseMimeType: 'application/json',
        },
        safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }],
      },
      'upstream',
      true,
    );
    expect(request).toEqual({
      messages: [
        { role: 'system', content: 'Be brief.\nBe kind.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is it? ' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } },
          ],
        },
        { role: 'assistant', content: 'A cat.' },
        { role: 'user', content: 'sure?' },
      ],
      temperature: 1.5,
      top_p: 0.5,
      top_k: 40,
      max_tokens: 10,
      stop: ['x'],
      response_format: { type: 'json_object' },
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('pairs functionResponses with their calls by name, in order, when the ids are absent', () => {
    const request = decodeGeminiRequest(
      {
        contents: [
          { role: 'user', parts: [{ text: 'two cities' }] },
          {
            role: 'model',
            parts: [
              { functionCall: { name: 'w', args: { c: 'A' } } },
              { functionCall: { name: 'w', args: { c: 'B' } } },
            ],
          },
          {
            role: 'user',
            parts: [
              { functionResponse: { name: 'w', response: { t: 1 } } },
              { functionResponse: { name: 'w', response: { t: 2 } } },
            ],
          },
        ],
        toolConfig: { functionCallingConfig: { mode: 'NONE' } },
      },
      'upstream',
      false,
    );
    expect(request.messages).toEqual([
      { role: 'user', content: 'two cities' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1_w', type: 'function', function: { name: 'w', arguments: '{"c":"A"}' } },
          { id: 'call_2_w', type: 'function', function: { name: 'w', arguments: '{"c":"B"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1_w', content: '{"t":1}' },
      { role: 'tool', tool_call_id: 'call_2_w', content: '{"t":2}' },
    ]);
    expect(request.tool_choice).toBe('none');
    expect(request.stream).toBeUndefined();
  });

  it('maps ANY with several allowed names to required, and lower-cases schema types deeply', () => {
    const request = decodeGeminiRequest(
      {
        contents: [{ parts: [{ text: 'x' }] }],
        tools: [
          {
            functionDeclarations: [
              {
                name: 'f',
                parameters: {
                  type: 'OBJECT',
                  properties: { xs: { type: 'ARRAY', items: { type: 'INTEGER' } } },
                },
              },
            ],
          },
        ],
        toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['f', 'g'] } },
      },
      'upstream',
      false,
    );
    expect(request.tool_choice).toBe('required');
    expect(request.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'f',
          parameters: {
            type: 'object',
            properties: { xs: { type: 'array', items: { type: 'integer' } } },
          },
        },
      },
    ]);
    expect(jsonSchema({ anyOf: [{ type: 'STRING' }, { type: 'NULL' }] })).toEqual({
      anyOf: [{ type: 'string' }, { type: 'null' }],
    });
  });

  it('refuses what a chat provider cannot honour with a 400', () => {
    const text = [{ parts: [{ text: 'x' }] }];
    const cases: [unknown, RegExp][] = [
      ['nope', /JSON object/],
      [{}, /contents is not specified/],
      [{ contents: [{ role: 'system', parts: [{ text: 'x' }] }] }, /valid role/],
      [{ contents: [{ parts: [] }] }, /at least one part/],
      [{ contents: text, generationConfig: { candidateCount: 3 } }, /only 1 candidate/],
      [{ contents: text, generationConfig: { temperature: 5 } }, /temperature/],
      [{ contents: text, generationConfig: { maxOutputTokens: 0 } }, /max_output_tokens/],
      [{ contents: text, generationConfig: { responseMimeType: 'text/x.enum' } }, /response_mime_type/],
      [{ contents: text, tools: [{ codeExecution: {} }] }, /codeExecution tools are not supported/],
      [{ contents: text, toolConfig: { functionCallingConfig: { mode: 'SOMETIMES' } } }, /mode/],
      [{ contents: [{ parts: [{ executableCode: { code: 'x' } }] }] }, /not supported/],
      [
        { contents: [{ role: 'user', parts: [{ functionCall: { name: 'f', args: {} } }] }] },
        /only model turns/,
      ],
      [
        { contents: [{ parts: [{ inlineData: { mimeType: 'application/pdf', data: 'x' } }] }] },
        /only image data/,
      ],
    ];
    for (const [body, message] of cases) {
      const refused = refusal(body);
      expect(refused.status).toBe(400);
      expect(refused.message).toMatch(message);
    }
  });
});
