import { DataSource } from 'typeorm';
import { bearer, call, JsonResponse } from 'test/e2e/support/admin-client';
import { openaiEndpoint, StartOptions, startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';

/** Where a run of the knowledge-base cases keeps its vectors. */
export interface KnowledgeDatabase {
  /** For the describe block's title. */
  label: string;
  /** Starts what the gateway needs and tells `startGateway` how to reach it. */
  start(): Promise<{ options: StartOptions; close(): Promise<void> }>;
  /** The pgvector version the database must report. */
  vectorVersion: RegExp;
  /**
   * Whether a large upload into an indexed knowledge base drops and rebuilds its HNSW index (embedded
   * PGlite) rather than inserting into it with multi-row INSERTs (a PostgreSQL server).
   */
  rebuildsIndexOnBulkUpload: boolean;
}

/**
 * Knowledge bases and RAG endpoints, with the mock's bag-of-words hashing embedding (`hash-embed…`
 * models), so retrieval quality is real: a paraphrased question must find the document that answers
 * it. Run against embedded PGlite and against a PostgreSQL server with pgvector (one spec file each).
 */
export function describeKnowledgeBases(database: KnowledgeDatabase): void {
  describe(`Knowledge bases and RAG endpoints (${database.label})`, () => {
    let mock: OpenAIMock;
    let gateway: TestGateway;
    let closeDatabase: (() => Promise<void>) | undefined;
    const sql = <T>(query: string, params: unknown[] = []) =>
      gateway.app.get(DataSource).query<T>(query, params);
    const api = (
      method: string,
      path: string,
      body?: unknown,
      headers?: Record<string, string>,
    ): Promise<JsonResponse> => call(gateway.url, method, path, headers ?? gateway.authHeaders(), body);
    const embeddingCalls = () => mock.requests.filter((r) => r.path.endsWith('/embeddings'));

    const REFUNDS = `# Refund policy

Customers can request a refund within 30 days of purchase. Refunds go back to the original card.

## Exceptions

Gift cards and downloaded software are not refundable.`;
    const PASSWORD = `<html><body><h1>Password reset</h1><p>To reset a forgotten password, open the login page and
  choose <b>Forgot password</b>. A reset link is emailed to you.</p><script>track()</script></body></html>`;
    const HOURS =
      'The office is open Monday to Friday from 9am to 5pm. The office is closed on public holidays.';

    beforeAll(async () => {
      process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
      mock = await startOpenAIMock();
      const started = await database.start();
      closeDatabase = started.close;
      gateway = await startGateway(
        `
endpoints:
${openaiEndpoint('embed', 'hash-embed-v1', mock.url, 'llm/v1/embeddings')}
${openaiEndpoint('embed-tight', 'hash-embed-v1', mock.url, 'llm/v1/embeddings', '    gatehouse:\n      limits:\n        - {per: principal, tokens_per_minute: 50}\n')}
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('chat-cached', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    gatehouse:\n      cache: {semantic: {embedding_endpoint: embed, threshold: 0.9}}\n')}
${openaiEndpoint('chat-brief', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    gatehouse:\n      cache: {ttl_seconds: 1, semantic: {embedding_endpoint: embed}}\n')}
  - name: ask-handbook
    endpoint_type: llm/v1/chat
    gatehouse:
      rag:
        knowledge_base: handbook
        top_k: 2
        template: rag-answer
        llm_endpoint: chat
`,
        started.options,
      );
      const template = await api('POST', '/admin/v1/prompts', {
        name: 'rag-answer',
        messages: [
          { role: 'system', content: 'Answer only from these passages:\n{{context}}' },
          { role: 'user', content: '{{question}}' },
        ],
        variables: [
          { name: 'question', type: 'string', required: true, max_length: 8000 },
          { name: 'context', type: 'string', max_length: 200000 },
        ],
        labels: ['production'],
      });
      expect(template.status).toBe(201);
    }, 120_000);

    afterAll(async () => {
      await gateway?.close();
      await mock?.close();
      await closeDatabase?.();
    });

    it('stores vectors with the expected pgvector', async () => {
      const [row] = await sql<{ version: string }[]>(
        `SELECT extversion AS version FROM pg_extension WHERE extname = 'vector'`,
      );
      expect(row.version).toMatch(database.vectorVersion);
    });

    it('creates a knowledge base, ingests Markdown, HTML, text and JSONL through the embeddings endpoint', async () => {
      const bad = await api('POST', '/admin/v1/knowledge-bases', { name: 'nope', embeddingEndpoint: 'chat' });
      expect(bad.status).toBe(400);
      const created = await api('POST', '/admin/v1/knowledge-bases', {
        name: 'handbook',
        embeddingEndpoint: 'embed',
        chunkSize: 120,
        chunkOverlap: 10,
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'handbook',
        chunks: 0,
        dimensions: null,
        ownerTeamId: null,
      });
      expect(
        (await api('POST', '/admin/v1/knowledge-bases', { name: 'handbook', embeddingEndpoint: 'embed' }))
          .status,
      ).toBe(409);

      const before = embeddingCalls().length;
      const md = await api('POST', '/admin/v1/knowledge-bases/handbook/documents', {
        id: 'refunds',
        format: 'markdown',
        content: REFUNDS,
        metadata: { team: 'billing' },
      });
      expect(md.status).toBe(200);
      expect(md.body.documents[0].id).toBe('refunds');
      expect(md.body.chunks).toBeGreaterThanOrEqual(2); // 120-character chunks, split at the headings
      const html = await api('POST', '/admin/v1/knowledge-bases/handbook/documents', {
        id: 'password',
        format: 'html',
        content: PASSWORD,
        metadata: { team: 'it' },
      });
      expect(html.status).toBe(200);
      const jsonl = [
        JSON.stringify({ id: 'hours', text: HOURS, metadata: { team: 'facilities' } }),
        JSON.stringify({
          id: 'parking',
          text: 'Staff parking is in the garage behind building B; bring your badge.',
        }),
      ].join('\n');
      const bulk = await api('POST', '/admin/v1/knowledge-bases/handbook/documents', {
        format: 'jsonl',
        content: jsonl,
      });
      expect(bulk.status).toBe(200);
      expect(bulk.body.documents.map((d: { id: string }) => d.id)).toEqual(['hours', 'parking']);
      // Every chunk went through the gateway's own embeddings endpoint (one call per document batch here).
      const calls = embeddingCalls().slice(before);
      expect(calls.length).toBe(3);
      expect(calls.every((c) => c.body.model === 'hash-embed-v1')).toBe(true);
      // The HTML was turned into text: no tags, no script.
      const htmlCall = calls[1].body.input as string[];
      expect(htmlCall.join(' ')).toContain('Forgot password');
      expect(htmlCall.join(' ')).not.toMatch(/<b>|track\(\)/);

      const badLine = await api('POST', '/admin/v1/knowledge-bases/handbook/documents', {
        format: 'jsonl',
        content: `${JSON.stringify({ id: 'x', text: 'fine' })}\n{not json`,
      });
      expect(badLine.status).toBe(400);
      expect(badLine.body.message).toContain('JSONL line 2');

      const kb = await api('GET', '/admin/v1/knowledge-bases/handbook');
      expect(kb.body).toMatchObject({ documents: 4, dimensions: 256 });
      expect(kb.body.chunks).toBeGreaterThanOrEqual(5);
      const patched = await api('PATCH', '/admin/v1/knowledge-bases/handbook', {
        description: 'Staff handbook',
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ description: 'Staff handbook', chunkSize: 120, documents: 4 });
      const overlap = await api('PATCH', '/admin/v1/knowledge-bases/handbook', { chunkOverlap: 100 });
      expect(overlap.status).toBe(400);
    });

    it('retrieves the right document for a paraphrased question; filters by metadata; hybrid ranks it first too', async () => {
      const search = (body: Record<string, unknown>) =>
        api('POST', '/v1/knowledge-bases/handbook/search', body);
      const refund = await search({ query: 'Can I get refunded for something I purchased?', top_k: 3 });
      expect(refund.status).toBe(200);
      expect(refund.body.results[0].documentId).toBe('refunds');
      expect(refund.body.results[0].similarity).toBeGreaterThan(0.2);
      const password = await search({ query: 'I forgot my password, how can I reset it?', top_k: 3 });
      expect(password.body.results[0].documentId).toBe('password');
      const hours = await search({ query: 'When is the office open?', top_k: 1 });
      expect(hours.body.results).toHaveLength(1);
      expect(hours.body.results[0].documentId).toBe('hours');

      const filtered = await search({ query: 'refund purchase', top_k: 5, filter: { team: 'it' } });
      expect(filtered.body.results.length).toBeGreaterThan(0);
      expect(
        filtered.body.results.every((r: { metadata: { team: string } }) => r.metadata.team === 'it'),
      ).toBe(true);

      const hybrid = await search({ query: 'garage badge', top_k: 2, hybrid: true });
      expect(hybrid.body.results[0].documentId).toBe('parking');
      expect((await search({ query: '' })).status).toBe(400);
      expect((await api('POST', '/v1/knowledge-bases/missing/search', { query: 'x' })).status).toBe(404);
    });

    it('re-ingesting a document id replaces its chunks; deleting removes them', async () => {
      const again = await api('POST', '/admin/v1/knowledge-bases/handbook/documents', {
        id: 'parking',
        content: 'Visitors park on level 2 of the public car park on Elm Street.',
      });
      expect(again.body.chunks).toBe(1);
      const hits = await api('POST', '/v1/knowledge-bases/handbook/search', {
        query: 'garage badge staff',
        top_k: 10,
      });
      const texts = hits.body.results.map((r: { text: string }) => r.text).join('\n');
      expect(texts).not.toContain('garage');
      expect(texts).toContain('Elm Street');
      expect((await api('DELETE', '/admin/v1/knowledge-bases/handbook/documents/parking')).status).toBe(204);
      expect((await api('DELETE', '/admin/v1/knowledge-bases/handbook/documents/parking')).status).toBe(404);
      expect((await api('GET', '/admin/v1/knowledge-bases/handbook')).body.documents).toBe(3);
    });

    it('answers at /v1/chat/completions with model = the RAG endpoint: passages in the prompt, citations in the answer', async () => {
      const response = await api('POST', '/v1/chat/completions', {
        model: 'ask-handbook',
        messages: [{ role: 'user', content: 'Can I get refunded for something I purchased?' }],
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-gatehouse-prompt')).toBe('rag-answer');
      expect(response.body.choices[0].message.role).toBe('assistant');
      expect(response.body.citations.length).toBeGreaterThan(0);
      expect(response.body.citations.length).toBeLessThanOrEqual(2);
      expect(response.body.citations[0]).toMatchObject({ document_id: 'refunds' });
      expect(typeof response.body.citations[0].chunk).toBe('number');
      const upstream = mock.requests[mock.requests.length - 1];
      expect(upstream.path).toMatch(/chat\/completions$/);
      const messages = upstream.body.messages as { role: string; content: string }[];
      expect(messages[0].role).toBe('system');
      expect(messages[0].content).toContain('within 30 days of purchase');
      expect(messages[1]).toEqual({ role: 'user', content: 'Can I get refunded for something I purchased?' });
    });

    it('answers at /ask/{name}, streamed or not; a plain chat endpoint answers without retrieval', async () => {
      const plain = await api('POST', '/ask/ask-handbook', {
        question: 'I forgot my password, how can I reset it?',
      });
      expect(plain.status).toBe(200);
      expect(plain.body.citations[0].document_id).toBe('password');
      const streamed = await fetch(`${gateway.url}/ask/ask-handbook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
        body: JSON.stringify({ question: 'When is the office open?', stream: true }),
      });
      expect(streamed.status).toBe(200);
      const text = await streamed.text();
      const events = text
        .split('\n\n')
        .filter((e) => e.startsWith('data: {'))
        .map((e) => JSON.parse(e.slice(6)) as { citations?: { document_id: string }[] });
      expect(events.length).toBeGreaterThan(1);
      expect(events[0].citations?.[0].document_id).toBe('hours');
      expect(events.slice(1).every((e) => e.citations === undefined)).toBe(true);
      expect(text.trim().endsWith('data: [DONE]')).toBe(true);
      // Any chat endpoint answers a question at /ask; only a RAG endpoint retrieves and cites.
      const plainEndpoint = await api('POST', '/ask/chat', { question: 'hello there' });
      expect(plainEndpoint.status).toBe(200);
      expect(plainEndpoint.body.citations).toBeUndefined();
      expect(mock.requests[mock.requests.length - 1].body.messages).toEqual([
        { role: 'user', content: 'hello there' },
      ]);
      expect(mock.requests[mock.requests.length - 1].body.question).toBeUndefined();
      expect((await api('POST', '/ask/chat', {})).status).toBe(400);
      expect((await api('POST', '/ask/chat', { question: 'x', messages: [] })).status).toBe(400);
    });

    it('ledgers the embeddings under the caller, with their purpose and the caller request', async () => {
      const requestId = `rag-ledger-${Date.now()}`;
      const answer = await api(
        'POST',
        '/ask/ask-handbook',
        { question: 'When is the office open?' },
        {
          ...gateway.authHeaders(),
          'x-request-id': requestId,
        },
      );
      expect(answer.status).toBe(200);
      let records: {
        purpose: string | null;
        endpoint: string | null;
        operation: string | null;
        parentId: string | null;
        principalId: string | null;
        promptTokens: number | null;
      }[] = [];
      for (let i = 0; i < 40 && records.length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        records = (await api('GET', `/admin/v1/usage/records?requestId=${requestId}`)).body.records;
      }
      const query = records.find((r) => r.purpose === 'kb_query');
      const llm = records.find((r) => r.purpose === null);
      expect(llm).toMatchObject({ endpoint: 'ask-handbook', operation: 'chat' });
      expect(query).toMatchObject({
        endpoint: 'embed',
        operation: 'embeddings',
        principalId: llm!.principalId,
      });
      expect(query!.promptTokens).toBeGreaterThan(0);
      expect(query!.parentId).not.toBeNull();
    });

    it("holds ingestion to the caller's token limits on the embeddings endpoint", async () => {
      expect(
        (await api('POST', '/admin/v1/knowledge-bases', { name: 'tight', embeddingEndpoint: 'embed-tight' }))
          .status,
      ).toBe(201);
      const small = await api('POST', '/admin/v1/knowledge-bases/tight/documents', {
        id: 's',
        content: 'ten words of text fit well under the limit here',
      });
      expect(small.status).toBe(200);
      const big = await api('POST', '/admin/v1/knowledge-bases/tight/documents', {
        id: 'b',
        content: Array.from({ length: 300 }, (_, i) => `word${i}`).join(' '),
      });
      expect(big.status).toBe(429);
      expect(big.body.code).toBe('rate_limit_exceeded');
      expect((await api('GET', '/admin/v1/knowledge-bases/tight')).body.documents).toBe(1);
    });

    it('creates a RAG endpoint through the admin API', async () => {
      const created = await api('POST', '/admin/v1/endpoints', {
        name: 'ask-api',
        endpoint_type: 'llm/v1/chat',
        gatehouse: {
          rag: { knowledge_base: 'handbook', template: 'rag-answer', llm_endpoint: 'chat', top_k: 1 },
        },
      });
      expect(created.status).toBeLessThan(300);
      let answer = await api('POST', '/ask/ask-api', {
        question: 'I forgot my password, how can I reset it?',
      });
      for (let i = 0; i < 20 && answer.status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        answer = await api('POST', '/ask/ask-api', { question: 'I forgot my password, how can I reset it?' });
      }
      expect(answer.status).toBe(200);
      expect(answer.body.citations).toHaveLength(1);
      expect(answer.body.citations[0].document_id).toBe('password');
      const bad = await api('POST', '/admin/v1/endpoints', {
        name: 'ask-bad',
        endpoint_type: 'llm/v1/chat',
        gatehouse: { rag: { knowledge_base: 'handbook', template: 'rag-answer', llm_endpoint: 'embed' } },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toContain("llm_endpoint 'embed' is not a chat endpoint");
    });

    const teams: Record<string, string> = {};
    const keys: Record<string, Record<string, string>> = {};

    it("keeps a team's knowledge base from other teams", async () => {
      for (const team of ['A', 'B']) {
        teams[team] = (await api('POST', '/admin/v1/teams', { name: `kb-team-${team}` })).body.id as string;
        const principal = await api('POST', '/admin/v1/principals', {
          kind: 'user',
          name: `kb-operator-${team}`,
          teamId: teams[team],
          roles: ['operator'],
        });
        const key = await api('POST', '/admin/v1/keys', {
          name: `kb-${team}`,
          principalId: principal.body.id,
        });
        keys[team] = bearer(key.body.key as string);
        const grant = await api('POST', '/admin/v1/grants', {
          teamId: teams[team],
          endpointPattern: 'chat-*',
        });
        expect(grant.status).toBe(201);
      }
      const created = await api(
        'POST',
        '/admin/v1/knowledge-bases',
        { name: 'team-a-notes', embeddingEndpoint: 'embed' },
        keys.A,
      );
      expect(created.status).toBe(201);
      expect(created.body.ownerTeamId).toBe(teams.A);
      const ingest = await api(
        'POST',
        '/admin/v1/knowledge-bases/team-a-notes/documents',
        { id: 'n1', content: 'Secret roadmap for team A' },
        keys.A,
      );
      expect(ingest.status).toBe(200);
      expect(
        (await api('POST', '/v1/knowledge-bases/team-a-notes/search', { query: 'roadmap' }, keys.A)).body
          .results[0].documentId,
      ).toBe('n1');
      // Team B cannot see, search, ingest into or delete it (404: its name cannot be probed).
      expect((await api('GET', '/admin/v1/knowledge-bases/team-a-notes', undefined, keys.B)).status).toBe(
        404,
      );
      expect(
        (await api('POST', '/v1/knowledge-bases/team-a-notes/search', { query: 'roadmap' }, keys.B)).status,
      ).toBe(404);
      expect(
        (
          await api(
            'POST',
            '/admin/v1/knowledge-bases/team-a-notes/documents',
            { id: 'x', content: 'y' },
            keys.B,
          )
        ).status,
      ).toBe(404);
      expect((await api('DELETE', '/admin/v1/knowledge-bases/team-a-notes', undefined, keys.B)).status).toBe(
        404,
      );
      const listB = await api('GET', '/admin/v1/knowledge-bases', undefined, keys.B);
      const namesB = listB.body.map((kb: { name: string }) => kb.name);
      expect(namesB).toContain('handbook'); // global
      expect(namesB).not.toContain('team-a-notes');
      const listA = await api('GET', '/admin/v1/knowledge-bases', undefined, keys.A);
      expect(listA.body.map((kb: { name: string }) => kb.name)).toContain('team-a-notes');
      // A global knowledge base is readable by every team but changed by admins only.
      expect(
        (await api('POST', '/admin/v1/knowledge-bases/handbook/documents', { id: 'x', content: 'y' }, keys.B))
          .status,
      ).toBe(403);
      // Team B can bind neither team A's knowledge base (answered like a missing one) nor create one over
      // an embeddings endpoint it cannot use; its own over the global embeddings endpoint is fine.
      const ragOver = (name: string, kb: string) =>
        api(
          'POST',
          '/admin/v1/endpoints',
          {
            name,
            endpoint_type: 'llm/v1/chat',
            gatehouse: { rag: { knowledge_base: kb, template: 'rag-answer', llm_endpoint: 'chat' } },
          },
          keys.B,
        );
      const foreignKb = await ragOver('chat-b-rag-foreign', 'team-a-notes');
      const missingKb = await ragOver('chat-b-rag-missing', 'no-such-kb');
      expect([foreignKb.status, missingKb.status]).toEqual([400, 400]);
      expect(foreignKb.body.message.replace(/'[^']*'/g, '…')).toBe(
        missingKb.body.message.replace(/'[^']*'/g, '…'),
      );
      const ownKb = await api(
        'POST',
        '/admin/v1/knowledge-bases',
        { name: 'team-b-notes', embeddingEndpoint: 'embed' },
        keys.B,
      );
      expect(ownKb.status).toBe(201);
      expect((await ragOver('chat-b-rag-own', 'team-b-notes')).status).toBe(201);
      // Every write was audited.
      const audit = await api('GET', '/admin/v1/audit?targetType=knowledge_base&limit=100');
      const actions = (audit.body.entries as { action: string }[]).map((e: { action: string }) => e.action);
      expect(actions).toEqual(
        expect.arrayContaining([
          'knowledge_base.create',
          'knowledge_base.documents.ingest',
          'knowledge_base.documents.delete',
        ]),
      );
    });

    describe('semantic cache', () => {
      const upstreamChats = () => mock.requests.filter((r) => r.path.endsWith('/chat/completions')).length;
      const ask = (
        content: string,
        extra: Record<string, unknown> = {},
        who = keys.A,
        model = 'chat-cached',
      ) =>
        api('POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content }], ...extra }, who);

      it('answers a paraphrase from the cache; an unrelated question or other parameters miss', async () => {
        const before = upstreamChats();
        const first = await ask('How do I reset my password?');
        expect(first.status).toBe(200);
        expect(first.headers.get('x-gatehouse-semantic-cache')).toBe('miss');
        expect(upstreamChats()).toBe(before + 1);
        const paraphrase = await ask('Please, how can I reset the password?');
        expect(paraphrase.status).toBe(200);
        expect(paraphrase.headers.get('x-gatehouse-semantic-cache')).toBe('hit');
        expect(Number(paraphrase.headers.get('x-gatehouse-semantic-similarity'))).toBeGreaterThanOrEqual(0.9);
        expect(paraphrase.body.id).toBe(first.body.id);
        expect(paraphrase.body.choices[0].message.content).toBe(first.body.choices[0].message.content);
        expect(upstreamChats()).toBe(before + 1);
        const unrelated = await ask('What is the capital city of France?');
        expect(unrelated.headers.get('x-gatehouse-semantic-cache')).toBe('miss');
        expect(upstreamChats()).toBe(before + 2);
        const otherParams = await ask('How can I reset my password?', { temperature: 0.5 });
        expect(otherParams.headers.get('x-gatehouse-semantic-cache')).toBe('miss');
        expect(upstreamChats()).toBe(before + 3);
      });

      it('replays a hit as a stream; never used with tools or n > 1', async () => {
        const before = upstreamChats();
        const streamed = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...keys.A },
          body: JSON.stringify({
            model: 'chat-cached',
            stream: true,
            messages: [{ role: 'user', content: 'how do I RESET my password' }],
          }),
        });
        expect(streamed.headers.get('x-gatehouse-semantic-cache')).toBe('hit');
        expect(await streamed.text()).toContain('data: [DONE]');
        expect(upstreamChats()).toBe(before);
        const tools = await ask('How do I reset my password?', {
          tools: [
            { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } },
          ],
        });
        expect(tools.headers.get('x-gatehouse-semantic-cache')).toBeNull();
        const several = await ask('How do I reset my password?', { n: 2 });
        expect(several.headers.get('x-gatehouse-semantic-cache')).toBeNull();
        expect(upstreamChats()).toBe(before + 2);
      });

      it('never answers across teams', async () => {
        const before = upstreamChats();
        const other = await ask('How do I reset my password?', {}, keys.B);
        expect(other.headers.get('x-gatehouse-semantic-cache')).toBe('miss');
        expect(upstreamChats()).toBe(before + 1);
      });

      it('counts hits and near misses; entries expire and are invalidated with the cache', async () => {
        const metrics = await fetch(`${gateway.url}/metrics`, { headers: gateway.authHeaders() });
        const text = await metrics.text();
        const hits =
          /gatehouse_semantic_cache_lookups_total\{endpoint="chat-cached",outcome="hit"\} (\d+)/.exec(text);
        expect(Number(hits?.[1])).toBeGreaterThanOrEqual(2);
        expect(text).toMatch(
          /gatehouse_semantic_cache_lookups_total\{endpoint="chat-cached",outcome="miss"\} \d+/,
        );

        // TTL: an entry of a 1-second endpoint is gone after 1.5 s.
        expect(
          (await ask('Where is the parking garage?', {}, keys.A, 'chat-brief')).headers.get(
            'x-gatehouse-semantic-cache',
          ),
        ).toBe('miss');
        expect(
          (await ask('where is the parking garage', {}, keys.A, 'chat-brief')).headers.get(
            'x-gatehouse-semantic-cache',
          ),
        ).toBe('hit');
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(
          (await ask('where is the parking garage', {}, keys.A, 'chat-brief')).headers.get(
            'x-gatehouse-semantic-cache',
          ),
        ).toBe('miss');

        // Invalidation through the cache admin API reaches the semantic entries of that endpoint.
        expect((await ask('How do I reset my password?')).headers.get('x-gatehouse-semantic-cache')).toBe(
          'hit',
        );
        const invalidated = await api('POST', '/admin/v1/cache/invalidations', { endpoint: 'chat-cached' });
        expect(invalidated.status).toBe(200);
        expect(invalidated.body.deleted).toBeGreaterThanOrEqual(3);
        expect((await ask('How do I reset my password?')).headers.get('x-gatehouse-semantic-cache')).toBe(
          'miss',
        );
      });
    });

    describe('bulk JSONL ingestion', () => {
      /** 1,200 chunks: on a server, more than one multi-row INSERT (1,000 rows each). */
      const DOCUMENTS = 80;
      const SECTIONS = 15;
      /** Paragraph `section` of document `doc`: 12 made-up words no other paragraph has (one chunk each). */
      const paragraph = (doc: number, section: number, version = 0): string =>
        Array.from(
          { length: 12 },
          (_, w) => `q${(((doc * SECTIONS + section) * 12 + w) * 7919 + version * 104729).toString(36)}x`,
        ).join(' ');
      const documentLine = (doc: number, sections = SECTIONS, version = 0) =>
        JSON.stringify({
          id: `doc-${doc}`,
          text: Array.from({ length: sections }, (_, c) => paragraph(doc, c, version)).join('\n\n'),
          metadata: { doc },
        });
      const ingest = (lines: string[], deferIndex?: boolean) =>
        api('POST', '/admin/v1/knowledge-bases/bulk/documents', {
          format: 'jsonl',
          content: lines.join('\n'),
          deferIndex,
        });
      /** The oid of the `bulk` knowledge base's HNSW index, if it has one. */
      const hnswIndex = async (): Promise<number | undefined> => {
        const rows = await sql<{ oid: number }[]>(
          `SELECT c.oid::int AS oid FROM knowledge_bases kb JOIN pg_class c
             ON c.relname = 'kb_chunks_hnsw_' || replace(kb.id::text, '-', '') AND c.relkind = 'i'
           WHERE kb.name = 'bulk'`,
        );
        return rows[0] ? Number(rows[0].oid) : undefined;
      };
      const top = async (query: string) =>
        (await api('POST', '/v1/knowledge-bases/bulk/search', { query, top_k: 3 })).body.results as {
          documentId: string;
          chunk: number;
          text: string;
          similarity: number;
        }[];

      it('lands every chunk of a 1,200-chunk upload exactly once, each with its own vector', async () => {
        const created = await api('POST', '/admin/v1/knowledge-bases', {
          name: 'bulk',
          embeddingEndpoint: 'embed',
          chunkSize: 150, // a paragraph (~95 characters) fits, two do not
          chunkOverlap: 0,
        });
        expect(created.status).toBe(201);
        const before = embeddingCalls().length;
        const lines = Array.from({ length: DOCUMENTS }, (_, d) => documentLine(d));
        const uploaded = await ingest(lines);
        expect(uploaded.status).toBe(200);
        expect(uploaded.body.chunks).toBe(DOCUMENTS * SECTIONS);
        expect(new Set(uploaded.body.documents.map((d: { chunks: number }) => d.chunks))).toEqual(
          new Set([SECTIONS]),
        );
        // Embedded in batches, each paragraph once.
        const inputs = embeddingCalls()
          .slice(before)
          .flatMap((c) => c.body.input as string[]);
        expect(embeddingCalls().length - before).toBeGreaterThan(1);
        expect(inputs).toHaveLength(DOCUMENTS * SECTIONS);
        expect(new Set(inputs).size).toBe(DOCUMENTS * SECTIONS);

        const kb = await api('GET', '/admin/v1/knowledge-bases/bulk');
        expect(kb.body).toMatchObject({
          documents: DOCUMENTS,
          chunks: DOCUMENTS * SECTIONS,
          dimensions: 256,
        });
        // Each stored chunk carries its own text and vector: its words find it first, at similarity 1.
        for (const [doc, section] of [
          [0, 0],
          [7, 14],
          [23, 5],
          [39, 14],
          [66, 3],
          [79, 14],
        ]) {
          const [hit] = await top(paragraph(doc, section));
          expect(hit).toMatchObject({
            documentId: `doc-${doc}`,
            chunk: section,
            text: paragraph(doc, section),
          });
          expect(hit.similarity).toBeCloseTo(1, 4);
        }
      });

      it("re-ingesting replaces a document's chunks, alone or within a bulk upload", async () => {
        // One document, now 3 chunks of new text (a small upload: inserted into the existing index).
        const one = await ingest([documentLine(7, 3, 1)]);
        expect(one.body.chunks).toBe(3);
        expect((await api('GET', '/admin/v1/knowledge-bases/bulk')).body).toMatchObject({
          documents: DOCUMENTS,
          chunks: DOCUMENTS * SECTIONS - SECTIONS + 3,
        });
        expect((await top(paragraph(7, 2, 1)))[0]).toMatchObject({ documentId: 'doc-7', chunk: 2 });
        const old = await top(paragraph(7, 9));
        expect(old.some((h) => h.documentId === 'doc-7')).toBe(false);
        expect(old[0].similarity).toBeLessThan(0.5);

        // The whole set again (a bulk upload): every document replaced, nothing doubled. The embedded
        // database drops the HNSW index and builds a new one; a server inserts into the one it has.
        const indexBefore = await hnswIndex();
        expect(indexBefore).toBeDefined();
        const again = await ingest(Array.from({ length: DOCUMENTS }, (_, d) => documentLine(d)));
        const indexAfter = await hnswIndex();
        expect(indexAfter).toBeDefined();
        expect(indexAfter !== indexBefore).toBe(database.rebuildsIndexOnBulkUpload);
        expect(again.body.chunks).toBe(DOCUMENTS * SECTIONS);
        expect((await api('GET', '/admin/v1/knowledge-bases/bulk')).body).toMatchObject({
          documents: DOCUMENTS,
          chunks: DOCUMENTS * SECTIONS,
        });
        expect((await top(paragraph(7, 9)))[0]).toMatchObject({ documentId: 'doc-7', chunk: 9 });
        expect((await top(paragraph(7, 2, 1)))[0].similarity).toBeLessThan(0.5);

        // A deferred upload leaves the index out (searches are exact meanwhile) until POST …/index.
        const deferred = await ingest([documentLine(3, 2, 4)], true);
        expect(deferred.body).toMatchObject({ chunks: 2, indexed: false });
        expect((await top(paragraph(3, 1, 4)))[0]).toMatchObject({ documentId: 'doc-3', chunk: 1 });
        const indexed = await api('POST', '/admin/v1/knowledge-bases/bulk/index');
        expect(indexed.status).toBe(200);
        expect(indexed.body).toEqual({ chunks: DOCUMENTS * SECTIONS - SECTIONS + 2, indexed: true });
        expect((await top(paragraph(3, 0, 4)))[0]).toMatchObject({ documentId: 'doc-3', chunk: 0 });
        // One audit row per upload, and one for the build.
        const audit = await api('GET', '/admin/v1/audit?targetType=knowledge_base&targetId=bulk&limit=100');
        const actions = (audit.body.entries as { action: string; targetId: string }[])
          .filter((e) => e.targetId === 'bulk')
          .map((e) => e.action);
        expect(actions.filter((a) => a === 'knowledge_base.documents.ingest')).toHaveLength(4);
        expect(actions.filter((a) => a === 'knowledge_base.index.build')).toHaveLength(1);

        // A failed upload (a duplicate id) changes nothing.
        const duplicate = await ingest([documentLine(1, 2, 2), documentLine(1, 2, 3)]);
        expect(duplicate.status).toBe(400);
        expect((await api('GET', '/admin/v1/knowledge-bases/bulk')).body.chunks).toBe(
          DOCUMENTS * SECTIONS - SECTIONS + 2,
        );
      });
    });
  });
}
