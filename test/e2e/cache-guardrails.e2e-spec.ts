import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

/** The response cache and the guardrails together: what is stored, and what each caller gets back. */
describe('response cache behind guardrails (in-process store)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;

  const gatehouse = (body: string) => `    gatehouse:\n${body}`;
  const chat = async (model: string, content: string) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify({ model, messages: [{ role: 'user', content }], temperature: 0 }),
    });
    const body = (await response.json()) as { choices?: { message: { content: string } }[] };
    return {
      status: response.status,
      cache: response.headers.get('x-gatehouse-cache'),
      text: body.choices?.[0].message.content,
    };
  };
  const upstreamContents = () =>
    mock.requests.map((r) => {
      const body = r.body as { messages?: { content: string }[] } | undefined;
      return body?.messages?.[0]?.content;
    });

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(`
endpoints:
${openaiEndpoint(
  'flagging',
  'gpt-4o-mini',
  mock.url,
  'llm/v1/chat',
  gatehouse(`      cache: {}
      moderation:
        output:
          - {type: deny-list, keywords: [secret sauce], action: flag}
`),
)}
${openaiEndpoint(
  'redacting',
  'gpt-4o-mini',
  mock.url,
  'llm/v1/chat',
  gatehouse(`      cache: {}
      moderation:
        input:
          - {type: pii, action: redact, mode: placeholder, entities: [email]}
`),
)}
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('never stores an answer a guardrail flagged, and stores the others', async () => {
    const before = mock.requests.length;
    const first = await chat('flagging', 'what is in the secret sauce?');
    expect(first).toMatchObject({ status: 200, cache: 'miss' });
    expect(first.text).toContain('secret sauce');
    // Flagged, so not stored: the identical request goes upstream again.
    expect(await chat('flagging', 'what is in the secret sauce?')).toMatchObject({
      status: 200,
      cache: 'miss',
    });
    expect(mock.requests.length - before).toBe(2);

    const plain = await chat('flagging', 'what is in the soup?');
    expect(plain.cache).toBe('miss');
    expect(await chat('flagging', 'what is in the soup?')).toMatchObject({ cache: 'hit', text: plain.text });
    expect(mock.requests.length - before).toBe(3);
  });

  it('keys on the redacted request and restores each caller’s own values on a hit', async () => {
    const before = mock.requests.length;
    const jane = await chat('redacting', 'please mail jane.doe@example.com today');
    expect(jane).toMatchObject({ status: 200, cache: 'miss' });
    expect(jane.text).toContain('jane.doe@example.com');
    expect(upstreamContents().at(-1)).not.toContain('jane.doe@example.com');

    // Same request once redacted: answered from the entry, with this caller's address put back.
    const bob = await chat('redacting', 'please mail bob@example.org today');
    expect(bob).toMatchObject({ status: 200, cache: 'hit' });
    expect(bob.text).toContain('bob@example.org');
    expect(bob.text).not.toContain('jane');
    expect(mock.requests.length - before).toBe(1);
    expect(JSON.stringify(upstreamContents())).not.toContain('@example.');
  });
});
