import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { VectorSupport } from 'src/modules/knowledge/vector-support.service';
import { call, JsonResponse } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';

/**
 * The machine's PostgreSQL has no pgvector: the migrations still apply, the gateway starts and logs
 * which extension is missing and how to install it, knowledge-base and RAG routes answer 503, and every
 * other feature keeps working.
 */
describe('Knowledge bases on a PostgreSQL server without pgvector', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  const errors: string[] = [];
  const api = (method: string, path: string, body?: unknown): Promise<JsonResponse> =>
    call(gateway.url, method, path, gateway.authHeaders(), body);

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    jest.spyOn(Logger.prototype, 'error').mockImplementation(function (this: Logger, message: unknown) {
      errors.push(String(message));
    });
    gateway = await startGateway(
      `
endpoints:
${openaiEndpoint('embed', 'hash-embed-v1', mock.url, 'llm/v1/embeddings')}
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}
  - name: ask-handbook
    endpoint_type: llm/v1/chat
    gatehouse:
      rag: {knowledge_base: handbook, template: rag-answer, llm_endpoint: chat}
`,
      // The boot itself runs the migrations on this server without pgvector.
      { emptyDatabase: true },
    );
  }, 120_000);

  afterAll(async () => {
    jest.restoreAllMocks();
    await gateway?.close();
    await mock?.close();
  });

  it('starts, with an error log naming the extension and how to install it', async () => {
    expect(gateway.app.get(VectorSupport).ready).toBe(false);
    const line = errors.find((e) => e.includes("'vector'"));
    expect(line).toBeDefined();
    expect(line).toContain('pgvector');
    expect(line).toMatch(/apt-get install postgresql-<major>-pgvector/);
    // The knowledge-base migration applied (its catalogue table exists), without the vector tables.
    const db = new Client({ connectionString: gateway.databaseUrl });
    await db.connect();
    try {
      const tables = await db.query<{ kb: string | null; chunks: string | null }>(
        `SELECT to_regclass('knowledge_bases')::text AS kb, to_regclass('kb_chunks')::text AS chunks`,
      );
      expect(tables.rows[0]).toEqual({ kb: 'knowledge_bases', chunks: null });
    } finally {
      await db.end();
    }
  });

  it('answers knowledge-base and RAG routes with a clear 503', async () => {
    for (const [method, path, body] of [
      ['GET', '/admin/v1/knowledge-bases', undefined],
      ['POST', '/admin/v1/knowledge-bases', { name: 'handbook', embeddingEndpoint: 'embed' }],
      ['POST', '/v1/knowledge-bases/handbook/search', { query: 'refunds' }],
    ] as const) {
      const answer = await api(method, path, body);
      expect(answer.status).toBe(503);
      expect(JSON.stringify(answer.body)).toContain('vector_store_unavailable');
      expect(JSON.stringify(answer.body)).toContain('pgvector');
    }
    const rag = await api('POST', '/v1/chat/completions', {
      model: 'ask-handbook',
      messages: [{ role: 'user', content: 'refunds?' }],
    });
    expect(rag.status).toBe(503);
    expect(rag.body.error.code).toBe('vector_store_unavailable');
  });

  it('keeps every other feature working', async () => {
    const chat = await api('POST', '/v1/chat/completions', {
      model: 'chat',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(chat.status).toBe(200);
    expect(chat.body.choices[0].message.role).toBe('assistant');
    const embeddings = await api('POST', '/v1/embeddings', { model: 'embed', input: 'hello' });
    expect(embeddings.status).toBe(200);
    expect(embeddings.body.data[0].embedding).toHaveLength(256);
    const team = await api('POST', '/admin/v1/teams', { name: 'still-works' });
    expect(team.status).toBe(201);
  });
});
