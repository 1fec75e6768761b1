import OpenAI from 'openai';
import { readJsonl, upload, waitForBatch } from 'test/e2e/batch/batch-support';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';

jest.setTimeout(120_000);

/** The same runner on embedded PGlite: SKIP LOCKED claims, chunked files, embeddings and completions. */
describe('Batch API on embedded PGlite', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(
      `
endpoints:
${openaiEndpoint('embed', 'text-embedding-3-small', mock.url, 'llm/v1/embeddings')}
${openaiEndpoint('complete', 'gpt-3.5-turbo-instruct', mock.url, 'llm/v1/completions')}
`,
      { embedded: true, env: { BATCH_POLL_INTERVAL_MS: '50' } },
    );
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.apiKey, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('runs an embeddings batch and a completions batch to completion', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => `text ${i}`);
    const embedLines = inputs
      .map((input, i) =>
        JSON.stringify({
          custom_id: `e${i}`,
          method: 'POST',
          url: '/v1/embeddings',
          body: { model: 'embed', input },
        }),
      )
      .join('\n');
    const completeLines = inputs
      .map((prompt, i) =>
        JSON.stringify({
          custom_id: `c${i}`,
          method: 'POST',
          url: '/v1/completions',
          body: { model: 'complete', prompt },
        }),
      )
      .join('\n');
    const [embeddings, completions] = await Promise.all([
      client.batches.create({
        input_file_id: await upload(client, embedLines),
        endpoint: '/v1/embeddings',
        completion_window: '24h',
      }),
      client.batches.create({
        input_file_id: await upload(client, completeLines),
        endpoint: '/v1/completions',
        completion_window: '24h',
      }),
    ]);
    for (const [created, prefix] of [
      [embeddings, 'e'],
      [completions, 'c'],
    ] as const) {
      const { batch } = await waitForBatch(client, created.id, ['completed', 'failed']);
      expect(batch.status).toBe('completed');
      expect(batch.request_counts).toEqual({ total: 12, completed: 12, failed: 0 });
      const output = await readJsonl(client, batch.output_file_id!);
      expect(output.map((l) => l.custom_id)).toEqual(inputs.map((_, i) => `${prefix}${i}`));
      expect(batch.error_file_id).toBeNull();
    }
    const embedOut = await readJsonl(client, (await client.batches.retrieve(embeddings.id)).output_file_id!);
    expect(
      embedOut.every((l) => Array.isArray(l.response!.body.data) && l.response!.body.data.length === 1),
    ).toBe(true);
    expect(mock.requests.filter((r) => r.path === '/v1/embeddings')).toHaveLength(12);
    expect(mock.requests.filter((r) => r.path === '/v1/completions')).toHaveLength(12);
  });
});
