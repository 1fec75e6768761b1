import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { Client } from 'pg';
import { chatLines, readJsonl, upload, waitForBatch } from 'test/e2e/batch/batch-support';
import { GatewayProcess, startGatewayProcess } from 'test/e2e/support/gateway-process';
import { createTestDatabase, openaiEndpoint, waitFor } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';

jest.setTimeout(240_000);

const LINES = 30;
const SLOTS = 3;

/**
 * The job runner survives SIGKILL mid-batch: the gateway process is killed while every one of its
 * slots waits on the upstream, a new process takes over the same PostgreSQL database, and every line
 * ends up answered exactly once (in the output file, in the ledger and as delivered upstream answers).
 */
describe('batch runner: kill -9 mid-batch, restart, every line exactly once', () => {
  let mock: OpenAIMock;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const processes: GatewayProcess[] = [];

  beforeAll(async () => {
    mock = await startOpenAIMock();
    database = await createTestDatabase();
  });

  afterAll(async () => {
    mock.setFault(undefined);
    for (const p of processes) await p.stop().catch(() => undefined);
    await mock?.close();
    await database?.drop();
  });

  it('loses and repeats no line', async () => {
    const apiKey = `gh_test_${randomBytes(24).toString('hex')}`;
    const yaml = `endpoints:\n${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}\n`;
    const env = {
      GATEHOUSE_ADMIN_API_KEY: apiKey,
      MOCK_OPENAI_KEY: MOCK_API_KEY,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'info',
      BATCH_POLL_INTERVAL_MS: '50',
      BATCH_CONCURRENCY_TOTAL: String(SLOTS),
      BATCH_CONCURRENCY_PER_ENDPOINT: String(SLOTS),
      BATCH_LEASE_MS: '2000',
      LEDGER_FLUSH_INTERVAL_MS: '50',
    };
    const first = await startGatewayProcess(yaml, env);
    processes.push(first);
    const texts = Array.from({ length: LINES }, (_, i) => `line ${i}`);
    const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
    const a = client(first.url);
    const created = await a.batches.create({
      input_file_id: await upload(a, chatLines('chat', texts)),
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });

    // A third of the way in, the upstream stops answering: every slot ends up waiting on it.
    await waitFor(() => mock.requests.length >= 10, 60_000);
    mock.setFault({ delayMs: 60_000 });
    const atFault = mock.requests.length;
    await waitFor(() => mock.requests.length - atFault >= SLOTS, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(mock.requests.length - atFault).toBe(SLOTS);
    const hung = mock.requests
      .slice(atFault)
      .map((r) => (r.body.messages as { content: string }[])[0].content);
    const before = (await a.batches.retrieve(created.id)).request_counts!;
    expect(before.completed).toBe(atFault);
    await first.kill();
    await waitFor(() => mock.aborted() === SLOTS, 10_000);

    mock.setFault(undefined);
    const second = await startGatewayProcess(yaml, env);
    processes.push(second);
    const b = client(second.url);
    const { batch } = await waitForBatch(b, created.id, ['completed'], 120_000);
    expect(batch.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 });

    // The output file: every custom_id once, in input order, each with its own answer.
    const output = await readJsonl(b, batch.output_file_id!);
    expect(output.map((l) => l.custom_id)).toEqual(texts.map((_, i) => `req-${i}`));
    expect(output.map((l) => l.response!.body.choices[0].message.content)).toEqual(
      texts.map((t) => `echo: ${t}`),
    );

    // Upstream: each line was answered (delivered) once; only the three cut off by the kill were sent twice.
    const sent = new Map<string, number>();
    for (const r of mock.requests) {
      const text = (r.body.messages as { content: string }[])[0].content;
      sent.set(text, (sent.get(text) ?? 0) + 1);
    }
    expect(mock.requests).toHaveLength(LINES + SLOTS);
    expect(mock.aborted()).toBe(SLOTS);
    expect(
      [...sent]
        .filter(([, n]) => n === 2)
        .map(([t]) => t)
        .sort(),
    ).toEqual([...hung].sort());
    expect([...sent.values()].every((n) => n === 1 || n === 2)).toBe(true);

    // The ledger: one row per line, tagged with the batch.
    const db = new Client({ connectionString: database.url });
    await db.connect();
    try {
      await waitFor(async () => {
        const { rows } = await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM usage_records WHERE batch_id = $1',
          [created.id],
        );
        return rows[0].n === LINES;
      }, 10_000);
      const { rows } = await db.query<{ n: number; ids: number }>(
        'SELECT count(*)::int AS n, count(DISTINCT request_id)::int AS ids FROM usage_records WHERE batch_id = $1',
        [created.id],
      );
      expect(rows[0]).toEqual({ n: LINES, ids: LINES });
    } finally {
      await db.end();
    }

    // Progress: one log line per tenth, whichever process crossed it.
    const deciles = [first, second]
      .flatMap((p) => [...p.stdout().matchAll(/batch \w+: (\d+)% done/g)])
      .map((m) => Number(m[1]));
    expect(deciles.sort((x, y) => x - y)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });
});
