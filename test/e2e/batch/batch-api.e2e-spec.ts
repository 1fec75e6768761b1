import OpenAI, { toFile } from 'openai';
import { Client } from 'pg';
import { call } from 'test/e2e/support/admin-client';
import { member } from 'test/e2e/security/support';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { chatLines, readJsonl, upload, waitForBatch } from 'test/e2e/batch/batch-support';

jest.setTimeout(120_000);

const userText = (body: Record<string, unknown>): string =>
  (body.messages as { content: string }[] | undefined)?.[0]?.content ?? '';

/** OpenAI's Files and Batch API through the official openai SDK, against PostgreSQL and the mock. */
describe('Files and Batch API (openai SDK, PostgreSQL)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let db: Client;
  let a: OpenAI;
  let b: OpenAI;
  let teamA: Awaited<ReturnType<typeof member>>;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(
      `
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('embed', 'text-embedding-3-small', mock.url, 'llm/v1/embeddings')}
${openaiEndpoint('too-long', 'mock-400', mock.url)}
${openaiEndpoint('paced', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    gatehouse:\n      limits:\n        - { per: principal, requests_per_second: 4 }')}
`,
      {
        env: { BATCH_POLL_INTERVAL_MS: '50', BATCH_RATE_LIMIT_SHARE: '0.5', LEDGER_FLUSH_INTERVAL_MS: '50' },
      },
    );
    teamA = await member(gateway, 'batch-team-a', ['developer']);
    const teamB = await member(gateway, 'batch-team-b', ['developer']);
    for (const team of [teamA, teamB]) {
      const grant = await call(gateway.url, 'POST', '/admin/v1/grants', gateway.authHeaders(), {
        teamId: team.teamId,
        endpointPattern: '*',
      });
      expect(grant.status).toBe(201);
    }
    a = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: teamA.key, maxRetries: 0 });
    b = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: teamB.key, maxRetries: 0 });
    db = new Client({ connectionString: gateway.databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await gateway?.close();
    await mock?.close();
  });

  it('runs a batch end to end: files.create, batches.create/retrieve, files.content in OpenAI format', async () => {
    const texts = ['one', 'two', 'three', 'four', 'five', 'six'];
    const jsonl = `${chatLines('chat', texts)}\n${JSON.stringify({
      custom_id: 'too-long',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'too-long', messages: [{ role: 'user', content: 'x' }] },
    })}\n`;
    const before = mock.requests.length;
    const fileId = await upload(a, jsonl);
    const file = await a.files.retrieve(fileId);
    expect(file).toMatchObject({
      id: fileId,
      object: 'file',
      purpose: 'batch',
      bytes: Buffer.byteLength(jsonl),
    });
    expect(await (await a.files.content(fileId)).text()).toBe(jsonl);

    const created = await a.batches.create({
      input_file_id: fileId,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { job: 'nightly' },
    });
    expect(created).toMatchObject({
      object: 'batch',
      status: 'validating',
      endpoint: '/v1/chat/completions',
      input_file_id: fileId,
      completion_window: '24h',
      metadata: { job: 'nightly' },
      output_file_id: null,
    });
    expect(created.expires_at! - created.created_at).toBe(24 * 3600);

    const { batch, seen } = await waitForBatch(a, created.id, ['completed', 'failed']);
    // OpenAI's documented order; a fast batch may pass a state between two polls.
    const order = ['validating', 'in_progress', 'finalizing', 'completed'];
    expect(seen.map((s) => order.indexOf(s))).toEqual([...seen.map((s) => order.indexOf(s))].sort());
    expect(seen[seen.length - 1]).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 7, completed: 6, failed: 1 });
    for (const stamp of ['in_progress_at', 'finalizing_at', 'completed_at'] as const)
      expect(batch[stamp]).toBeGreaterThanOrEqual(batch.created_at);
    expect(batch.failed_at).toBeNull();

    const output = await readJsonl(a, batch.output_file_id!);
    expect(output.map((l) => l.custom_id)).toEqual(texts.map((_, i) => `req-${i}`));
    for (const [i, line] of output.entries()) {
      expect(line.id).toMatch(/^batch_req_[0-9a-f]{32}$/);
      expect(line.error).toBeNull();
      expect(line.response!.status_code).toBe(200);
      expect(line.response!.request_id).toBe(line.id);
      expect(line.response!.body.choices[0].message.content).toBe(`echo: ${texts[i]}`);
    }
    const errors = await readJsonl(a, batch.error_file_id!);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ custom_id: 'too-long', error: null, response: { status_code: 400 } });
    expect(errors[0].response!.body.error.type).toBe('invalid_request_error');
    expect(await a.files.retrieve(batch.output_file_id!)).toMatchObject({ purpose: 'batch_output' });

    // Each line went upstream once, with the model the endpoint names.
    const upstream = mock.requests.slice(before).filter((r) => r.path === '/v1/chat/completions');
    expect(upstream.map((r) => userText(r.body)).sort()).toEqual([...texts, 'x'].sort());

    // The ledger holds one row per line, tagged with the batch, charged to the submitting key and team.
    await waitFor(async () => {
      const { rows } = await db.query('SELECT count(*)::int AS n FROM usage_records WHERE batch_id = $1', [
        batch.id,
      ]);
      return rows[0].n === 7;
    }, 10_000);
    const { rows } = await db.query<{
      team_id: string;
      api_key_id: string;
      status: number;
      request_id: string;
    }>(`SELECT team_id, api_key_id, status, request_id FROM usage_records WHERE batch_id = $1`, [batch.id]);
    expect(new Set(rows.map((r) => r.team_id))).toEqual(new Set([teamA.teamId]));
    expect(new Set(rows.map((r) => r.api_key_id))).toEqual(new Set([teamA.keyId]));
    expect(rows.filter((r) => r.status === 200)).toHaveLength(6);
    expect(new Set(rows.map((r) => r.request_id))).toEqual(new Set([...output, ...errors].map((l) => l.id)));

    const page = await a.batches.list({ limit: 1 });
    expect(page.data[0].id).toBe(batch.id);
  });

  it('refuses a JSONL file with a 400 naming the first bad line, and keeps nothing of it', async () => {
    const lines = chatLines('chat', ['a', 'b']).split('\n');
    const bad = [
      lines[0],
      lines[1],
      '{"custom_id": "c", "method": "POST", "url": "/v1/chat/completions", "body": ',
      lines[0],
    ].join('\n');
    const listed = (await a.files.list()).data.length;
    const error = await a.files
      .create({ file: await toFile(Buffer.from(bad), 'bad.jsonl'), purpose: 'batch' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain(
      'Line 3: not valid JSON.',
    );
    const wrongUrl = chatLines('chat', ['a'], 'x', '/v1/images/generations');
    const urlError = await a.files
      .create({ file: await toFile(Buffer.from(`${lines[0]}\n${wrongUrl}`), 'u.jsonl'), purpose: 'batch' })
      .catch((e: unknown) => e);
    expect((urlError as Error).message).toContain("Line 2: 'url' must be one of");
    const purposeError = await a.files
      .create({ file: await toFile(Buffer.from(lines[0]), 'p.jsonl'), purpose: 'fine-tune' })
      .catch((e: unknown) => e);
    expect((purposeError as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400);
    expect((await a.files.list()).data.length).toBe(listed);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM openai_files WHERE status <> 'processed'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('fails a batch whose lines do not match its endpoint, listing the lines', async () => {
    const jsonl = `${chatLines('chat', ['a'])}\n${JSON.stringify({ custom_id: 'e', method: 'POST', url: '/v1/embeddings', body: { model: 'embed', input: 'a' } })}\n${chatLines('chat', ['a'])}`;
    const created = await a.batches.create({
      input_file_id: await upload(a, jsonl),
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const { batch, seen } = await waitForBatch(a, created.id, ['failed', 'completed']);
    expect(seen).toEqual(['validating', 'failed']);
    expect(batch.failed_at).not.toBeNull();
    expect(batch.errors!.data!.map((e) => [e.code, e.line])).toEqual([
      ['invalid_url', 2],
      ['duplicate_custom_id', 3],
    ]);
    expect(batch.request_counts).toEqual({ total: 0, completed: 0, failed: 0 });
  });

  it('answers 404 for another team’s files and batches, and lists only the caller’s own', async () => {
    const fileId = await upload(a, chatLines('chat', ['private']));
    const created = await a.batches.create({
      input_file_id: fileId,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    for (const attempt of [
      () => b.files.retrieve(fileId),
      () => b.files.content(fileId),
      () => b.files.delete(fileId),
      () => b.batches.retrieve(created.id),
      () => b.batches.cancel(created.id),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    }
    const borrowed = await b.batches
      .create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' })
      .catch((e: unknown) => e);
    expect((borrowed as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400);
    expect((await b.files.list()).data.map((f) => f.id)).not.toContain(fileId);
    expect((await b.batches.list()).data.map((x) => x.id)).not.toContain(created.id);
    expect((await a.batches.list()).data.map((x) => x.id)).toContain(created.id);
    await waitForBatch(a, created.id, ['completed']);
    expect(await a.files.delete(fileId)).toEqual({ id: fileId, object: 'file', deleted: true });
    expect(await a.files.retrieve(fileId).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('cancels: cancelling while lines in flight finish, then cancelled with the finished lines', async () => {
    mock.setFault({ delayMs: 700 });
    try {
      const texts = Array.from({ length: 24 }, (_, i) => `slow ${i}`);
      const before = mock.requests.length;
      const created = await a.batches.create({
        input_file_id: await upload(a, chatLines('chat', texts)),
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      await waitFor(() => mock.requests.length - before >= 2, 20_000);
      const cancelling = await a.batches.cancel(created.id);
      const inFlight = mock.requests.length - before;
      expect(cancelling.status).toBe('cancelling');
      expect(cancelling.cancelling_at).not.toBeNull();
      const { batch, seen } = await waitForBatch(a, created.id, ['cancelled']);
      expect(seen[0]).toBe('cancelling');
      expect(batch.cancelled_at).not.toBeNull();
      // Lines in flight at the cancel finished and count; nothing else started.
      const done = batch.request_counts!.completed;
      expect(done).toBeGreaterThanOrEqual(inFlight);
      expect(done).toBe(mock.requests.length - before);
      expect(done).toBeLessThan(24);
      const output = await readJsonl(a, batch.output_file_id!);
      expect(output.map((l) => l.response!.body.choices[0].message.content).sort()).toEqual(
        mock.requests
          .slice(before)
          .map((r) => `echo: ${userText(r.body)}`)
          .sort(),
      );
      // A cancelled batch cannot be cancelled into anything else, and stays cancelled.
      expect((await a.batches.cancel(created.id)).status).toBe('cancelled');
    } finally {
      mock.setFault(undefined);
    }
  });

  it('keeps batch lines within their share of a request-rate limit, so interactive calls still pass', async () => {
    const before = mock.requests.length;
    const texts = Array.from({ length: 8 }, (_, i) => `paced ${i}`);
    const created = await a.batches.create({
      input_file_id: await upload(a, chatLines('paced', texts)),
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await waitForBatch(a, created.id, ['in_progress', 'completed']);
    const interactive = await a.chat.completions.create({
      model: 'paced',
      messages: [{ role: 'user', content: 'me first' }],
    });
    expect(interactive.choices[0].message.content).toBe('echo: me first');
    const { batch } = await waitForBatch(a, created.id, ['completed']);
    expect(batch.request_counts).toEqual({ total: 8, completed: 8, failed: 0 });
    // Limit 4/s per principal, batch share 0.5: at most 2 batch lines in any one-second window.
    const perSecond = new Map<number, number>();
    for (const r of mock.requests.slice(before)) {
      if (!userText(r.body).startsWith('paced')) continue;
      const second = Math.floor(r.at / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    // (Admission and arrival at the mock may straddle a second boundary: 3 at most in one mock second.)
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(3);
    expect(perSecond.size).toBeGreaterThanOrEqual(4);
    expect([...perSecond.values()].reduce((x, y) => x + y, 0)).toBe(8);
  });
});
