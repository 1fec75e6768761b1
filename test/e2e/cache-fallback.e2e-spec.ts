import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

/** An LLM endpoint's fallback answer is cached as the fallback's, not as the primary's. */
describe('response cache with fallbacks', () => {
  let primary: OpenAIMock;
  let backup: OpenAIMock;
  let gw: TestGateway;

  const chat = async (model: string) => {
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gw.authHeaders() },
      body: JSON.stringify({
        model,
        messages: [{ role: 'user', content: 'capital of France?' }],
        temperature: 0,
      }),
    });
    const body = (await response.json()) as { model?: string };
    return {
      status: response.status,
      model: body.model,
      cache: response.headers.get('x-gatehouse-cache'),
      target: response.headers.get('x-gatehouse-target'),
    };
  };

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    [primary, backup] = await Promise.all([startOpenAIMock(), startOpenAIMock()]);
    gw = await startGateway(`endpoints:
${openaiEndpoint('primary', 'gpt-primary', primary.url, 'llm/v1/chat', '    gatehouse: {cache: {}, fallbacks: [backup, plain]}')}
${openaiEndpoint('backup', 'gpt-backup', backup.url, 'llm/v1/chat', '    gatehouse: {cache: {}}')}
${openaiEndpoint('plain', 'gpt-plain', backup.url)}
`);
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([primary?.close(), backup?.close()]);
  });

  it('stores the backup’s answer under the backup; the healthy primary answers for itself', async () => {
    primary.failNext({ status: 503 });
    const rescued = await chat('primary');
    expect(rescued).toMatchObject({ status: 200, target: 'backup', cache: 'miss' });
    expect(rescued.model).toContain('gpt-backup');

    const primaryCalls = primary.requests.length;
    const own = await chat('primary');
    expect(own).toMatchObject({ status: 200, target: 'primary', cache: 'miss' });
    expect(own.model).toContain('gpt-primary');
    expect(primary.requests.length).toBe(primaryCalls + 1);
    expect((await chat('primary')).cache).toBe('hit');

    const backupCalls = backup.requests.length;
    const direct = await chat('backup');
    expect(direct).toMatchObject({ status: 200, cache: 'hit' });
    expect(direct.model).toContain('gpt-backup');
    expect(backup.requests.length).toBe(backupCalls);
  });

  it('does not cache an answer from a fallback that has no cache policy', async () => {
    primary.failNext({ status: 503 });
    const body = { model: 'primary', messages: [{ role: 'user', content: 'uncached?' }], temperature: 0 };
    const send = () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...gw.authHeaders() },
        body: JSON.stringify(body),
      });
    backup.failNext({ status: 503 });
    const viaPlain = await send();
    expect(viaPlain.status).toBe(200);
    expect(viaPlain.headers.get('x-gatehouse-target')).toBe('plain');
    const calls = primary.requests.length;
    const again = await send();
    expect(again.headers.get('x-gatehouse-cache')).toBe('miss');
    expect(primary.requests.length).toBe(calls + 1);
  });
});
