import type { InvocationContext, InvocationResult } from 'src/modules/pipeline/invocation-context';
import type { ChatRequest } from 'src/modules/providers/provider-adapter';
import { StoredResponsesInterceptor } from 'src/modules/responses/stored-responses.interceptor';
import type { StoredResponsesService } from 'src/modules/responses/stored-responses.service';

/** A service double that records what the stage asks of it. */
function service(earlier: Record<string, unknown>[] = []) {
  const calls: string[] = [];
  const saved: unknown[] = [];
  const double = {
    conversation: (_principal: unknown, id: string) => {
      calls.push(`conversation ${id}`);
      return Promise.resolve(earlier);
    },
    save: (row: unknown) => saved.push(row),
  };
  return { calls, saved, double: double as unknown as StoredResponsesService };
}

function context(surface: string, native: Record<string, unknown>, request: ChatRequest): InvocationContext {
  return {
    surface,
    answer: 'upstream',
    endpoint: { name: 'chat' },
    principal: { id: 'p1', teamId: 't1' },
    native,
    request,
    answered: undefined,
  } as unknown as InvocationContext;
}

const RESULT: InvocationResult = { kind: 'token-count', inputTokens: 0 };

describe('StoredResponsesInterceptor', () => {
  it('other surfaces and requests without previous_response_id: next() itself, no read, no await', () => {
    const { calls, double } = service();
    const stage = new StoredResponsesInterceptor(double);
    const next = Promise.resolve(RESULT);
    const chat = context('openai', {}, { messages: [{ role: 'user', content: 'x' }] });
    expect(stage.around(chat, () => next)).toBe(next);
    expect(chat.answered).toBeUndefined();
    const responses = context('responses', { input: 'x' }, { messages: [{ role: 'user', content: 'x' }] });
    expect(stage.around(responses, () => next)).toBe(next);
    expect(calls).toEqual([]);
  });

  it('store (the default) keeps the answer with this turn as input items; store: false keeps nothing', () => {
    const { saved, double } = service();
    const stage = new StoredResponsesInterceptor(double);
    const ctx = context('responses', { input: 'hello' }, { messages: [{ role: 'user', content: 'hello' }] });
    void stage.around(ctx, () => Promise.resolve(RESULT));
    ctx.answered!({ id: 'resp_abc', output: [] });
    expect(saved).toEqual([
      {
        id: 'resp_abc',
        owner: { scope: 'team:t1', principalId: 'p1', teamId: 't1' },
        endpoint: 'chat',
        response: { id: 'resp_abc', output: [] },
        inputItems: [
          {
            id: expect.stringMatching(/^msg_[0-9a-f]{48}$/),
            type: 'message',
            role: 'user',
            status: 'completed',
            content: [{ type: 'input_text', text: 'hello' }],
          },
        ],
        contextItems: [],
      },
    ]);
    const ephemeral = context('responses', { input: 'x', store: false }, { messages: [] });
    void stage.around(ephemeral, () => Promise.resolve(RESULT));
    expect(ephemeral.answered).toBeUndefined();
  });

  it('previous_response_id: the earlier turns go after the instructions and before the new input', async () => {
    const earlier = [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'first' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'reply' }] },
    ];
    const { calls, saved, double } = service(earlier);
    const stage = new StoredResponsesInterceptor(double);
    const request: ChatRequest = {
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'second' },
      ],
    };
    const ctx = context('responses', { input: 'second', previous_response_id: 'resp_prev' }, request);
    expect(await stage.around(ctx, () => Promise.resolve(RESULT))).toBe(RESULT);
    expect(calls).toEqual(['conversation resp_prev']);
    expect(request.messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'reply' },
      { role: 'user', content: 'second' },
    ]);
    ctx.answered!({ id: 'resp_next', output: [] });
    expect((saved[0] as { contextItems: unknown }).contextItems).toEqual(earlier);
  });
});
