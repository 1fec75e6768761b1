import { EventEmitter2 } from '@nestjs/event-emitter';
import { Principal } from 'src/common/auth/principal';
import { CONTEXT_FITTED, ContextFittedEvent } from 'src/modules/conversations/conversation.events';
import { ConversationQueryService } from 'src/modules/conversations/conversation-query.service';
import { ConversationRepository } from 'src/modules/conversations/conversation.repository';
import { ownerOf } from 'src/modules/conversations/conversation-owner';
import { SUMMARIZER_INSTRUCTIONS } from 'src/modules/conversations/conversation-summarizer';
import { MessageCounter, TokenCounter } from 'src/modules/tokens/token-counter';
import { ChatMessage } from 'src/modules/providers/provider-adapter';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const WINDOW = 400;
const RESERVE = 50;
const SUMMARY_MAX = 60;
const SYSTEM = 'You are a helpful travel agent. Keep answers short.';

const principal = (id: string, teamId: string | null): Principal => ({
  id,
  kind: 'service',
  name: id,
  teamId,
  roles: [],
  permissions: new Set(),
  apiKeyId: null,
});

describe('Conversations: stored turns fitted to the model window (PostgreSQL)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let counter: MessageCounter;

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: {
        ...gateway.authHeaders(),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: (text ? JSON.parse(text) : null) as Json,
    };
  };

  const isSummarizerCall = (body: Json) => (body.messages as Json[])[0]?.content === SUMMARIZER_INSTRUCTIONS;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    const conversation = (extra: string) => `    gatehouse:\n      conversation:\n${extra}`;
    gateway = await startGateway(
      `
endpoints:
${openaiEndpoint('chat-truncate', 'gpt-4o-mini', mock.url, 'llm/v1/chat', conversation(`        strategy: truncate\n        window_tokens: ${WINDOW}\n        reserve_tokens: ${RESERVE}`))}
${openaiEndpoint('chat-summarize', 'gpt-4o-mini', mock.url, 'llm/v1/chat', conversation(`        strategy: summarize\n        summarizer_endpoint: summarizer\n        window_tokens: ${WINDOW}\n        reserve_tokens: ${RESERVE}\n        summary_max_tokens: ${SUMMARY_MAX}`))}
${openaiEndpoint('summarizer', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('broken-summarizer', 'mock-500', mock.url)}
${openaiEndpoint('chat-summarize-broken', 'gpt-4o-mini', mock.url, 'llm/v1/chat', conversation(`        strategy: summarize\n        summarizer_endpoint: broken-summarizer\n        window_tokens: ${WINDOW}\n        reserve_tokens: ${RESERVE}\n        summary_max_tokens: ${SUMMARY_MAX}`))}
${openaiEndpoint('chat-compress', 'gpt-4o-mini', mock.url, 'llm/v1/chat', conversation('        compress: true'))}
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}
`,
      { env: { CONVERSATION_RETENTION_SECONDS: '2' } },
    );
    counter = await new TokenCounter().counterFor(TokenCounter.choose('openai', 'gpt-4o-mini'));
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  const turn = (i: number) =>
    `Turn ${i}: please remember that city number ${i} is Lisbon-${i} and ask me about it later`;

  async function runConversation(model: string, id: string, turns: number): Promise<Json[]> {
    const sent: Json[] = [];
    for (let i = 1; i <= turns; i++) {
      const before = mock.requests.length;
      const messages: ChatMessage[] = [{ role: 'user', content: turn(i) }];
      if (i === 1) messages.unshift({ role: 'system', content: SYSTEM });
      const response = await call(
        'POST',
        '/v1/chat/completions',
        { model, messages, max_tokens: 5000 },
        { 'x-gatehouse-conversation-id': id },
      );
      expect(response.status).toBe(200);
      expect(response.body.choices[0].message.content).toBe(`echo: ${turn(i)}`);
      const main = mock.requests
        .slice(before)
        .map((r) => r.body as Json)
        .filter((b) => !isSummarizerCall(b));
      expect(main).toHaveLength(1);
      const upstream = main[0];
      expect(upstream.conversation_id).toBeUndefined();
      const tokens = counter.messages(upstream.messages as ChatMessage[]);
      // The prompt stays within the window minus the reply reserve, and the counted tokens are reported.
      expect(tokens).toBeLessThanOrEqual(WINDOW - RESERVE);
      expect(Number(response.headers.get('x-gatehouse-context-tokens'))).toBe(tokens);
      // max_tokens 5000 is clamped to what the window leaves.
      expect(upstream.max_tokens).toBe(WINDOW - tokens);
      const msgs = upstream.messages as Json[];
      expect(msgs[0]).toEqual({ role: 'system', content: SYSTEM });
      expect(msgs[msgs.length - 1]).toEqual({ role: 'user', content: turn(i) });
      sent.push(upstream);
    }
    return sent;
  }

  it('keeps a 40-turn conversation within a small window by truncating older turns', async () => {
    const sent = await runConversation('chat-truncate', 'trip-truncate', 40);
    // Early on everything fits: turn 2 carries turn 1 and its reply.
    expect((sent[1].messages as Json[]).map((m) => String(m.role))).toEqual([
      'system',
      'user',
      'assistant',
      'user',
    ]);
    // Late turns carry only the latest history; turn 1 is gone, turn 39 and its reply are there.
    const last = sent[39].messages as Json[];
    const contents = last.map((m) => String(m.content));
    expect(contents).not.toContain(turn(1));
    expect(contents).toContain(turn(39));
    expect(contents).toContain(`echo: ${turn(39)}`);
    expect(last.length).toBeLessThan(20);
    expect(
      sent.some((b) => (b.messages as Json[]).some((m) => String(m.content).startsWith('Summary of'))),
    ).toBe(false);

    const stored = await call('GET', '/v1/conversations/trip-truncate');
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({
      id: 'trip-truncate',
      endpoint: 'chat-truncate',
      turns: 80,
      summary: null,
    });
    expect(stored.body.system).toEqual([{ role: 'system', content: SYSTEM }]);
    expect(stored.body.messages).toHaveLength(80);
    expect(stored.body.messages[0]).toMatchObject({ seq: 1, role: 'user', content: turn(1) });
    expect(stored.body.messages[79]).toMatchObject({
      seq: 80,
      role: 'assistant',
      content: `echo: ${turn(40)}`,
    });
  });

  it('keeps a 40-turn conversation within a small window with a running summary from the summariser endpoint', async () => {
    const before = mock.requests.length;
    const sent = await runConversation('chat-summarize', 'trip-summary', 40);
    const summarizerCalls = mock.requests
      .slice(before)
      .map((r) => r.body as Json)
      .filter(isSummarizerCall);
    expect(summarizerCalls.length).toBeGreaterThan(0);
    expect(summarizerCalls[0].max_tokens).toBe(SUMMARY_MAX);
    expect(String((summarizerCalls[0].messages as Json[])[1].content)).toContain(turn(1));
    const last = sent[39].messages as Json[];
    expect(String(last[1].content)).toMatch(/^Summary of the earlier conversation:\n/);
    const summaryText = String(last[1].content).replace(/^Summary of the earlier conversation:\n/, '');
    expect(counter.text(summaryText)).toBeLessThanOrEqual(SUMMARY_MAX);
    expect(last.map((m) => String(m.content))).not.toContain(turn(1));

    const stored = await call('GET', '/v1/conversations/trip-summary');
    expect(stored.body.turns).toBe(80);
    expect(stored.body.summarized_through).toBeGreaterThan(0);
    expect(stored.body.summary).toEqual(
      String(last[1].content).replace(/^Summary of the earlier conversation:\n/, ''),
    );
  });

  it('falls back to truncation when the summariser fails, and keeps the conversation going', async () => {
    const before = mock.requests.length;
    const sent = await runConversation('chat-summarize-broken', 'trip-broken', 12);
    const attempts = mock.requests.slice(before).filter((r) => r.body.model === 'mock-500');
    expect(attempts.length).toBeGreaterThan(0);
    const last = sent[11].messages as Json[];
    expect(last.some((m) => String(m.content).startsWith('Summary of'))).toBe(false);
    expect(last.map((m) => String(m.content))).not.toContain(turn(1));
    const stored = await call('GET', '/v1/conversations/trip-broken');
    expect(stored.body).toMatchObject({ turns: 24, summary: null, summarized_through: 0 });
  });

  it('answers context_length_exceeded before any upstream call when the new message cannot fit', async () => {
    const before = mock.requests.length;
    const huge = 'lorem ipsum '.repeat(400);
    const withId = await call('POST', '/v1/chat/completions', {
      model: 'chat-truncate',
      messages: [{ role: 'user', content: huge }],
      conversation_id: 'too-big',
    });
    expect(withId.status).toBe(400);
    expect(withId.body.error).toMatchObject({ code: 'context_length_exceeded', param: 'messages' });
    expect(withId.body.error.message).toContain(`maximum context length is ${WINDOW} tokens`);
    const stateless = await call('POST', '/v1/chat/completions', {
      model: 'chat-truncate',
      messages: [{ role: 'user', content: huge }],
    });
    expect(stateless.status).toBe(400);
    expect(stateless.body.error.code).toBe('context_length_exceeded');
    expect(mock.requests.length).toBe(before);
    expect((await call('GET', '/v1/conversations/too-big')).status).toBe(404);
  });

  it('takes the id from the body too, strips it, and refuses bad or conflicting ids', async () => {
    const before = mock.requests.length;
    const ok = await call('POST', '/v1/chat/completions', {
      model: 'chat',
      conversation_id: 'body-id',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-gatehouse-conversation-id')).toBe('body-id');
    expect((mock.requests[before].body as Json).conversation_id).toBeUndefined();
    const second = await call('POST', '/v1/chat/completions', {
      model: 'chat',
      conversation_id: 'body-id',
      messages: [{ role: 'user', content: 'again' }],
    });
    expect(second.status).toBe(200);
    expect(
      ((mock.requests[before + 1].body as Json).messages as Json[]).map((m) => String(m.content)),
    ).toEqual(['hello', 'echo: hello', 'again']);
    const bad = await call('POST', '/v1/chat/completions', {
      model: 'chat',
      conversation_id: '../etc/passwd',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('conversation_id');
    const conflict = await call(
      'POST',
      '/v1/chat/completions',
      { model: 'chat', conversation_id: 'a', messages: [{ role: 'user', content: 'x' }] },
      { 'x-gatehouse-conversation-id': 'b' },
    );
    expect(conflict.status).toBe(400);
    expect(mock.requests.length).toBe(before + 2);
  });

  it('numbers turns without gaps or collisions when requests on one conversation race', async () => {
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call(
          'POST',
          '/v1/chat/completions',
          { model: 'chat', messages: [{ role: 'user', content: `parallel ${i}` }] },
          { 'x-gatehouse-conversation-id': 'racing' },
        ),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const stored = await call('GET', '/v1/conversations/racing');
    expect(stored.body.turns).toBe(12);
    expect(stored.body.messages.map((m: Json) => Number(m.seq))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);
    // Each request's user turn is followed by its own reply.
    for (let i = 0; i < 12; i += 2) {
      const user = String(stored.body.messages[i].content);
      expect(stored.body.messages[i + 1].content).toBe(`echo: ${user}`);
    }
  });

  it('stores streamed replies too', async () => {
    const raw = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        ...gateway.authHeaders(),
        'content-type': 'application/json',
        'x-gatehouse-conversation-id': 'streamed-2',
      },
      body: JSON.stringify({
        model: 'chat',
        stream: true,
        messages: [{ role: 'user', content: 'stream me please' }],
      }),
    });
    expect(raw.status).toBe(200);
    expect(await raw.text()).toContain('data: [DONE]');
    const stored = await call('GET', '/v1/conversations/streamed-2');
    expect(stored.body.messages.map((m: Json) => String(m.content))).toEqual([
      'stream me please',
      'echo: stream me please',
    ]);
  });

  it('lets only the owning team see, list or delete a conversation', async () => {
    const repository = gateway.app.get(ConversationRepository);
    const queries = gateway.app.get(ConversationQueryService);
    const alice = principal('alice', 'team-a');
    const bob = principal('bob', 'team-b');
    const carol = principal('carol', 'team-a');
    await repository.append({
      owner: ownerOf(alice),
      externalId: 'secret-plan',
      endpoint: 'chat',
      systemMessages: [],
      summary: null,
      summarizedThrough: 0,
      turns: [
        { role: 'user', content: 'the launch date is 12 May' },
        { role: 'assistant', content: 'noted' },
      ],
      expiresAt: new Date(Date.now() + 60_000),
    });
    await expect(queries.get(bob, 'secret-plan')).rejects.toMatchObject({
      status: 404,
      code: 'conversation_not_found',
    });
    await expect(queries.delete(bob, 'secret-plan')).rejects.toMatchObject({ status: 404 });
    expect((await queries.list(bob)).data).toEqual([]);
    // A teammate shares the team's conversations.
    expect((await queries.get(carol, 'secret-plan')).messages).toHaveLength(2);
    expect((await queries.list(alice)).data.map((c) => c.id)).toEqual(['secret-plan']);
    // Over HTTP the caller is not team-a: 404, and the same id starts a separate conversation of its own.
    expect((await call('GET', '/v1/conversations/secret-plan')).status).toBe(404);
    expect((await call('DELETE', '/v1/conversations/secret-plan')).status).toBe(404);
    const before = mock.requests.length;
    await call(
      'POST',
      '/v1/chat/completions',
      { model: 'chat', messages: [{ role: 'user', content: 'what is the launch date?' }] },
      { 'x-gatehouse-conversation-id': 'secret-plan' },
    );
    const upstream = (mock.requests[before].body as Json).messages as Json[];
    expect(upstream.map((m) => String(m.content))).toEqual(['what is the launch date?']);
    // Deleting removes the content for its owner.
    await queries.delete(alice, 'secret-plan');
    await expect(queries.get(alice, 'secret-plan')).rejects.toMatchObject({ status: 404 });
  });

  it('compresses whitespace and repeated messages when the endpoint asks, and reports the tokens saved', async () => {
    const fitted: ContextFittedEvent[] = [];
    gateway.app.get(EventEmitter2).on(CONTEXT_FITTED, (e: ContextFittedEvent) => fitted.push(e));
    const noisy = 'where    is\t\t my   order?\n\n\n\n\nit   was   due   monday';
    const before = mock.requests.length;
    const response = await call('POST', '/v1/chat/completions', {
      model: 'chat-compress',
      messages: [
        { role: 'system', content: '   be   brief   ' },
        { role: 'user', content: noisy },
        { role: 'user', content: noisy },
      ],
    });
    expect(response.status).toBe(200);
    const sent = (mock.requests[before].body as Json).messages as ChatMessage[];
    expect(sent).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'where is my order?\n\nit was due monday' },
    ]);
    const original: ChatMessage[] = [
      { role: 'system', content: '   be   brief   ' },
      { role: 'user', content: noisy },
      { role: 'user', content: noisy },
    ];
    const saved = counter.messages(original) - counter.messages(sent);
    expect(saved).toBeGreaterThan(10);
    expect(Number(response.headers.get('x-gatehouse-tokens-saved'))).toBe(saved);
    expect(fitted.at(-1)).toMatchObject({
      endpoint: 'chat-compress',
      tokensSaved: saved,
      conversationId: null,
    });
  });

  it('lists, deletes and expires conversations after the retention period', async () => {
    await call(
      'POST',
      '/v1/chat/completions',
      { model: 'chat', messages: [{ role: 'user', content: 'short lived' }] },
      { 'x-gatehouse-conversation-id': 'ephemeral' },
    );
    const list = await call('GET', '/v1/conversations?limit=100');
    expect(list.status).toBe(200);
    expect(list.body.data.map((c: Json) => String(c.id))).toContain('ephemeral');
    expect((await call('GET', '/v1/conversations?limit=0')).status).toBe(400);
    expect((await call('DELETE', '/v1/conversations/body-id')).status).toBe(204);
    expect((await call('GET', '/v1/conversations/body-id')).status).toBe(404);

    // Retention is 2 s in this gateway: after it, reads miss and the sweep removes the rows.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await call('GET', '/v1/conversations/ephemeral')).status).toBe(404);
    const removed = await gateway.app.get(ConversationQueryService).sweep();
    expect(removed).toBeGreaterThanOrEqual(1);
    expect((await call('GET', '/v1/conversations')).body.data).toEqual([]);
  });
});
