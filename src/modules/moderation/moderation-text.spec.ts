import { requestSlots, responseSlots } from 'src/modules/moderation/moderation-text';
import { ChatCompletion, ChatRequest } from 'src/modules/providers/provider-adapter';

describe('guardrail text slots: tool-call arguments are screened like content', () => {
  it('reads and rewrites the arguments of tool calls a client replays', () => {
    const request: ChatRequest = {
      messages: [
        { role: 'user', content: 'email my boss' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'c1',
              type: 'function',
              function: { name: 'send', arguments: '{"to":"boss@example.com","body":"hi"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'sent' },
      ],
    };
    const slots = requestSlots('chat', request);
    expect(slots.units.map((u) => u.text)).toEqual([
      'email my boss',
      '{"to":"boss@example.com","body":"hi"}',
      'sent',
    ]);
    slots.write(['email my boss', '{"to":"<<PII_EMAIL_1>>","body":"hi"}', 'sent']);
    const args = request.messages[1].tool_calls![0].function.arguments;
    expect(JSON.parse(args)).toEqual({ to: '<<PII_EMAIL_1>>', body: 'hi' });
  });

  it('reads the arguments of tool calls the model answers with', () => {
    const response = {
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'c',
                type: 'function',
                function: { name: 'pay', arguments: '{"card":"4111 1111 1111 1111"}' },
              },
              { id: 'd', type: 'function', function: { name: 'noop', arguments: '' } },
            ],
          },
        },
      ],
    } as unknown as ChatCompletion;
    const slots = responseSlots('chat', response);
    expect(slots.units).toEqual([{ text: '{"card":"4111 1111 1111 1111"}', role: 'assistant' }]);
    slots.write(['{"card":"[CARD]"}']);
    expect(response.choices[0].message.tool_calls![0].function.arguments).toBe('{"card":"[CARD]"}');
  });
});
