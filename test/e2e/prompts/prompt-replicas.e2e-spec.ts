import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('Prompt changes reach other replicas sharing the database (PostgreSQL)', () => {
  let mock: OpenAIMock;
  let first: TestGateway;
  let second: TestGateway;

  const yaml = (url: string) => `
endpoints:
${openaiEndpoint('greet', 'gpt-4o-mini', url, 'llm/v1/chat', '    gatehouse:\n      prompt:\n        template: greeting\n')}
`;

  const send = async (gateway: TestGateway, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { ...gateway.authHeaders(), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Json };
  };

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    first = await startGateway(yaml(mock.url), { env: { PROMPTS_REFRESH_INTERVAL_MS: '200' } });
    // A second replica on the first one's database.
    second = await startGateway(yaml(mock.url), {
      env: { DATABASE_URL: first.databaseUrl as string, PROMPTS_REFRESH_INTERVAL_MS: '200' },
    });
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
    await mock?.close();
  });

  it('serves a template created and relabelled on one replica from the other within the refresh interval', async () => {
    expect(
      (await send(second, 'POST', '/v1/chat/completions', { model: 'greet', variables: {} })).status,
    ).toBe(503);
    const created = await send(first, 'POST', '/admin/v1/prompts', {
      name: 'greeting',
      messages: [{ role: 'user', content: 'Say hello to {{who}}' }],
      variables: [{ name: 'who', type: 'string', default: 'everyone' }],
      labels: ['production'],
    });
    expect(created.status).toBe(201);
    await waitFor(async () => (await send(second, 'GET', '/admin/v1/prompts/greeting')).status === 200, 5000);
    const answer = await send(second, 'POST', '/v1/chat/completions', {
      model: 'greet',
      variables: { who: 'Ada' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.choices[0].message.content).toBe('echo: Say hello to Ada');
    expect(answer.headers.get('x-gatehouse-prompt-version')).toBe('1');

    await send(first, 'POST', '/admin/v1/prompts/greeting/versions', {
      messages: [{ role: 'user', content: 'Greet {{who}} warmly' }],
      variables: [{ name: 'who', type: 'string', default: 'everyone' }],
      labels: ['production'],
    });
    await waitFor(async () => {
      const r = await send(second, 'POST', '/v1/chat/completions', { model: 'greet', variables: {} });
      return r.headers.get('x-gatehouse-prompt-version') === '2';
    }, 5000);
    const moved = await send(second, 'POST', '/v1/chat/completions', { model: 'greet', variables: {} });
    expect(moved.body.choices[0].message.content).toBe('echo: Greet everyone warmly');
  });
});
