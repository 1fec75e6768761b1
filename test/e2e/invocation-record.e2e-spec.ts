import { EventEmitter2 } from '@nestjs/event-emitter';
import { INVOCATION_FINISHED, InvocationRecord } from 'src/common/observability/invocation';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

/** The one record per request that the ledger, the metrics and the access log all read. */
describe('invocation record', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  const records: InvocationRecord[] = [];

  const post = (body: Record<string, unknown>, init: RequestInit = {}) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify(body),
      ...init,
    });
  const recordOf = async (requestId: string | null): Promise<InvocationRecord> => {
    for (let i = 0; i < 100; i++) {
      const found = records.find((r) => r.requestId === requestId);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no record for ${requestId}`);
  };

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url, 'llm/v1/chat')}
${openaiEndpoint('broken', 'mock-503', mock.url, 'llm/v1/chat')}
${openaiEndpoint('hanging', 'mock-hang', mock.url, 'llm/v1/chat')}
routes:
  - name: split
    task_type: llm/v1/chat
    destinations:
      - {name: chat, traffic_percentage: 100}
`);
    gateway.app.get(EventEmitter2).on(INVOCATION_FINISHED, (record: InvocationRecord) => {
      records.push({ ...record });
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('records a completed call with its usage, principal and target, once', async () => {
    const response = await post({ model: 'split', messages: [{ role: 'user', content: 'one two three' }] });
    const body = (await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const record = await recordOf(response.headers.get('x-request-id'));
    expect(record).toMatchObject({
      surface: 'openai',
      operation: 'chat',
      stream: false,
      requested: 'split',
      route: 'split',
      endpoint: 'chat',
      target: 'chat',
      provider: 'openai',
      model: 'gpt-4o-mini',
      attempts: 1,
      cacheHit: false,
      status: 200,
      outcome: 'success',
      promptTokens: body.usage.prompt_tokens,
      completionTokens: body.usage.completion_tokens,
    });
    expect(record.principalId).toEqual(expect.any(String));
    expect(record.latencyMs).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(records.filter((r) => r.requestId === record.requestId)).toHaveLength(1);
  });

  it('records a stream with its time to first token and the usage the stream reported', async () => {
    const response = await post({
      model: 'chat',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'tell me a story' }],
    });
    const text = await response.text();
    const usage = text
      .split('\n\n')
      .map((event) => event.replace(/^data: /, ''))
      .filter((data) => data.startsWith('{'))
      .map((data) => JSON.parse(data) as { usage?: { completion_tokens: number } })
      .find((chunk) => chunk.usage)?.usage;
    const record = await recordOf(response.headers.get('x-request-id'));
    expect(record).toMatchObject({ stream: true, status: 200, outcome: 'success', attempts: 1 });
    expect(record.completionTokens).toBe(usage?.completion_tokens);
    expect(record.ttftMs).toBeGreaterThan(0);
    expect(record.ttftMs!).toBeLessThanOrEqual(record.latencyMs!);
  });

  it('records an upstream failure with its error code', async () => {
    const response = await post({ model: 'broken', messages: [{ role: 'user', content: 'hi' }] });
    expect(response.status).toBe(503);
    const record = await recordOf(response.headers.get('x-request-id'));
    expect(record).toMatchObject({ status: 503, outcome: 'error', attempts: 1, endpoint: 'broken' });
    expect(record.errorCode).toEqual(expect.any(String));
  });

  it('records a stream the client abandoned as cancelled', async () => {
    const controller = new AbortController();
    const response = await post(
      { model: 'hanging', stream: true, messages: [{ role: 'user', content: 'hi' }] },
      { signal: controller.signal },
    );
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    const record = await recordOf(response.headers.get('x-request-id'));
    expect(record).toMatchObject({ outcome: 'cancelled', endpoint: 'hanging', stream: true });
  });
});
