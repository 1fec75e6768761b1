import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Client } from 'pg';
import { INVOCATION_FINISHED, InvocationRecord } from 'src/common/observability/invocation';
import { UsageRecorder } from 'src/modules/billing/usage-recorder.service';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { startTcpProxy, TcpProxy } from 'test/e2e/support/tcp-proxy';
import {
  createTestDatabase,
  openaiEndpoint,
  startGateway,
  TestGateway,
  waitFor,
} from 'test/e2e/support/test-gateway';

interface LedgerRow {
  id: string;
  request_id: string;
  outcome: string;
  status: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cache_hit: boolean;
  attempts: number;
  endpoint: string | null;
  model: string | null;
  provider: string | null;
  stream: boolean;
  team_id: string | null;
  principal_id: string | null;
  cost_usd: string | null;
  latency_ms: number;
  ttft_ms: number | null;
}

async function rowsOf(databaseUrl: string, where = 'true', params: unknown[] = []): Promise<LedgerRow[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<LedgerRow>(`SELECT * FROM usage_records WHERE ${where}`, params)).rows;
  } finally {
    await client.end();
  }
}

const yaml = (mockUrl: string) => `
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mockUrl)}
${openaiEndpoint('broken', 'mock-503', mockUrl)}
${openaiEndpoint('hanging', 'mock-hang', mockUrl)}
${openaiEndpoint('cached', 'gpt-4o-mini', mockUrl, 'llm/v1/chat', '    gatehouse:\n      cache: { enabled: true }\n')}
`;

/** The usage ledger against the real PostgreSQL: one row per request, whatever became of it. */
describe('usage ledger', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;

  const post = (
    body: Record<string, unknown>,
    init: RequestInit & { headers?: Record<string, string> } = {},
  ) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      ...init,
      headers: { 'content-type': 'application/json', ...gateway.authHeaders(), ...init.headers },
      body: JSON.stringify(body),
    });
  const rowFor = async (requestId: string | null): Promise<LedgerRow> => {
    let rows: LedgerRow[] = [];
    await waitFor(async () => {
      rows = await rowsOf(gateway.databaseUrl!, 'request_id = $1', [requestId]);
      return rows.length > 0;
    }, 10_000);
    expect(rows).toHaveLength(1);
    return rows[0];
  };

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(yaml(mock.url));
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('records a success with the tokens the provider reported, its principal and target', async () => {
    const response = await post({
      model: 'chat',
      messages: [{ role: 'user', content: 'one two three four' }],
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const row = await rowFor(response.headers.get('x-request-id'));
    expect(row).toMatchObject({
      outcome: 'success',
      status: 200,
      endpoint: 'chat',
      provider: 'openai',
      model: 'gpt-4o-mini',
      attempts: 1,
      cache_hit: false,
      stream: false,
      prompt_tokens: body.usage.prompt_tokens,
      completion_tokens: body.usage.completion_tokens,
      // gpt-4o-mini from the built-in price catalog: $0.15 in / $0.60 out per million tokens.
      cost_usd: ((4 * 0.15 + 5 * 0.6) / 1e6).toFixed(10),
    });
    expect(body.usage.completion_tokens).toBe(5);
    expect(body.usage.prompt_tokens).toBe(4);
    expect(row.principal_id).toEqual(expect.any(String));
    expect(row.latency_ms).toBeGreaterThan(0);
  });

  it('records an upstream error with its status and no tokens', async () => {
    const response = await post({ model: 'broken', messages: [{ role: 'user', content: 'hi' }] });
    expect(response.status).toBe(503);
    const row = await rowFor(response.headers.get('x-request-id'));
    expect(row).toMatchObject({
      outcome: 'error',
      status: 503,
      endpoint: 'broken',
      attempts: 1,
      prompt_tokens: null,
      completion_tokens: null,
    });
  });

  it('records a cache hit as such, with the tokens of the answer it replayed and no upstream attempt', async () => {
    const body = {
      model: 'cached',
      temperature: 0,
      messages: [{ role: 'user', content: 'cache me please' }],
    };
    const first = await post(body);
    expect(first.status).toBe(200);
    const usage = ((await first.json()) as { usage: { prompt_tokens: number; completion_tokens: number } })
      .usage;
    const second = await post(body);
    expect(second.status).toBe(200);
    await second.text();
    const miss = await rowFor(first.headers.get('x-request-id'));
    const hit = await rowFor(second.headers.get('x-request-id'));
    expect(miss).toMatchObject({ outcome: 'success', cache_hit: false, attempts: 1 });
    expect(hit).toMatchObject({
      outcome: 'cache_hit',
      cache_hit: true,
      attempts: 0,
      status: 200,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
    });
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
    const row = await rowFor(response.headers.get('x-request-id'));
    expect(row).toMatchObject({ outcome: 'cancelled', stream: true, endpoint: 'hanging' });
  });

  it('records a finished stream with its time to first token and the usage the stream reported', async () => {
    const response = await post({
      model: 'chat',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'stream these five words' }],
    });
    const text = await response.text();
    const usage = text
      .split('\n\n')
      .map((event) => event.replace(/^data: /, ''))
      .filter((data) => data.startsWith('{'))
      .map((data) => JSON.parse(data) as { usage?: { prompt_tokens: number; completion_tokens: number } })
      .find((chunk) => chunk.usage)?.usage;
    const row = await rowFor(response.headers.get('x-request-id'));
    expect(row).toMatchObject({
      outcome: 'success',
      stream: true,
      prompt_tokens: usage!.prompt_tokens,
      completion_tokens: usage!.completion_tokens,
    });
    expect(row.ttft_ms).toBeGreaterThan(0);
  });

  it('keeps two different requests that carry the same caller x-request-id as two rows', async () => {
    const headers = { 'x-request-id': `client-retry-${Date.now()}` };
    for (let i = 0; i < 2; i++) {
      const response = await post(
        { model: 'chat', messages: [{ role: 'user', content: 'retry' }] },
        { headers },
      );
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).toBe(headers['x-request-id']);
    }
    await waitFor(
      async () =>
        (await rowsOf(gateway.databaseUrl!, 'request_id = $1', [headers['x-request-id']])).length === 2,
      10_000,
    );
    const rows = await rowsOf(gateway.databaseUrl!, 'request_id = $1', [headers['x-request-id']]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(2);
  });

  it('is idempotent: the same record delivered twice is one row', async () => {
    const record: InvocationRecord = {
      requestId: `replayed-${Date.now()}`,
      invocationId: '5b0d6a1e-7a53-4d6e-9d7e-0c2a4d1f0a11',
      startedAt: Date.now() - 20,
      startedHr: 0,
      surface: 'openai',
      operation: 'chat',
      stream: false,
      attempts: 1,
      cacheHit: false,
      endpoint: 'chat',
      promptTokens: 7,
      completionTokens: 3,
      costUsd: 0.000123,
      status: 200,
      outcome: 'success',
      latencyMs: 20,
      finishedAt: Date.now(),
    };
    const events = gateway.app.get(EventEmitter2);
    const recorder = gateway.app.get(UsageRecorder);
    events.emit(INVOCATION_FINISHED, record);
    await recorder.flush();
    events.emit(INVOCATION_FINISHED, { ...record });
    events.emit(INVOCATION_FINISHED, record);
    await recorder.flush();
    const rows = await rowsOf(gateway.databaseUrl!, 'request_id = $1', [record.requestId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ prompt_tokens: 7, completion_tokens: 3, cost_usd: '0.0001230000' });
  });
});

/** PostgreSQL going away and coming back, and shutdowns, lose nothing. */
describe('usage ledger: outages and shutdown', () => {
  let mock: OpenAIMock;
  let database: { url: string; drop: () => Promise<void> };
  let proxy: TcpProxy;
  let dataDir: string;

  const ask = (gateway: TestGateway, n: number, tag: string) =>
    Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const response = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-request-id': `${tag}-${i}`,
            ...gateway.authHeaders(),
          },
          body: JSON.stringify({
            model: 'chat',
            messages: [{ role: 'user', content: `request number ${i}` }],
          }),
        });
        expect(response.status).toBe(200);
        return ((await response.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
      }),
    );
  const countTagged = async (tag: string) =>
    (await rowsOf(database.url, 'request_id LIKE $1', [`${tag}-%`])).length;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    database = await createTestDatabase();
    const url = new URL(database.url);
    proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-ledger-'));
  });

  afterAll(async () => {
    await proxy?.kill();
    await mock?.close();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const viaProxy = () => {
    const url = new URL(database.url);
    url.host = `127.0.0.1:${proxy.port}`;
    return url.toString();
  };

  it('keeps records while PostgreSQL is down and writes them when it returns', async () => {
    const gateway = await startGateway(yaml(mock.url), {
      databaseUrl: viaProxy(),
      env: { LEDGER_FLUSH_INTERVAL_MS: '50', LEDGER_RETRY_MAX_MS: '300', DATA_DIR: join(dataDir, 'a') },
    });
    try {
      const recorder = gateway.app.get(UsageRecorder);
      proxy.cut();
      // Inference does not read the database: requests keep being answered during the outage.
      const tokens = await ask(gateway, 40, 'outage');
      await waitFor(() => recorder.status().degraded, 10_000);
      expect(recorder.status().buffered).toBe(40);
      expect(await countTagged('outage')).toBe(0);
      proxy.restore();
      await waitFor(async () => (await countTagged('outage')) === 40, 20_000);
      const rows = await rowsOf(database.url, 'request_id LIKE $1', ['outage-%']);
      expect(rows.reduce((sum, r) => sum + (r.prompt_tokens ?? 0), 0)).toBe(
        tokens.reduce((a, b) => a + b, 0),
      );
      expect(recorder.status()).toMatchObject({ buffered: 0, degraded: false, dropped: 0 });
    } finally {
      proxy.restore();
      await gateway.close();
    }
  });

  it('writes what is buffered when the process shuts down', async () => {
    const gateway = await startGateway(yaml(mock.url), {
      databaseUrl: database.url,
      // Nothing is written by the timer during the test: only the shutdown drain can write these.
      env: { LEDGER_FLUSH_INTERVAL_MS: '60000', DATA_DIR: join(dataDir, 'b') },
    });
    await ask(gateway, 25, 'drain');
    expect(gateway.app.get(UsageRecorder).status().buffered).toBe(25);
    expect(await countTagged('drain')).toBe(0);
    await gateway.close();
    expect(await countTagged('drain')).toBe(25);
  });

  it('spills to DATA_DIR when PostgreSQL is down at shutdown, and the next start writes the spill', async () => {
    const dir = join(dataDir, 'c');
    const env = { LEDGER_FLUSH_INTERVAL_MS: '60000', LEDGER_SHUTDOWN_TIMEOUT_MS: '500', DATA_DIR: dir };
    const first = await startGateway(yaml(mock.url), { databaseUrl: viaProxy(), env });
    await ask(first, 15, 'spilled');
    proxy.cut();
    await first.close();
    proxy.restore();
    expect(await readdir(join(dir, 'ledger-spill'))).toHaveLength(1);
    expect(await countTagged('spilled')).toBe(0);
    const second = await startGateway(yaml(mock.url), {
      databaseUrl: database.url,
      env: { ...env, LEDGER_FLUSH_INTERVAL_MS: '50' },
    });
    try {
      await waitFor(async () => (await countTagged('spilled')) === 15, 10_000);
      await waitFor(async () => (await readdir(join(dir, 'ledger-spill'))).length === 0, 5_000);
    } finally {
      await second.close();
    }
    expect(await countTagged('spilled')).toBe(15);
  });

  it('spills beyond LEDGER_MAX_BUFFERED during a long outage and loses nothing', async () => {
    const gateway = await startGateway(yaml(mock.url), {
      databaseUrl: viaProxy(),
      env: {
        LEDGER_FLUSH_INTERVAL_MS: '50',
        LEDGER_RETRY_MAX_MS: '200',
        LEDGER_MAX_BUFFERED: '100',
        DATA_DIR: join(dataDir, 'd'),
      },
    });
    try {
      const recorder = gateway.app.get(UsageRecorder);
      proxy.cut();
      await ask(gateway, 60, 'long-a');
      await ask(gateway, 90, 'long-b');
      await waitFor(() => recorder.status().buffered <= 100 && recorder.status().spilledBytes > 0, 10_000);
      proxy.restore();
      await waitFor(
        async () => (await countTagged('long-a')) === 60 && (await countTagged('long-b')) === 90,
        20_000,
      );
      await waitFor(() => recorder.status().spilledBytes === 0, 5_000);
      expect(recorder.status().dropped).toBe(0);
    } finally {
      proxy.restore();
      await gateway.close();
    }
  });
});

/** The same ledger and reports on the embedded database (PGlite). */
describe('usage ledger on embedded PGlite', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(yaml(mock.url), { embedded: true });
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('records requests and reports them', async () => {
    let prompt = 0;
    for (const content of ['one two', 'three four five']) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content }] }),
      });
      expect(response.status).toBe(200);
      prompt += ((await response.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
    }
    await gateway.app.get(UsageRecorder).flush();
    const usage = await fetch(`${gateway.url}/admin/v1/usage?groupBy=endpoint,day`, {
      headers: gateway.authHeaders(),
    });
    expect(usage.status).toBe(200);
    const body = (await usage.json()) as {
      totals: { requests: number; promptTokens: number };
      groups: { endpoint: string; requests: number; p95LatencyMs: number }[];
    };
    expect(body.totals).toMatchObject({ requests: 2, promptTokens: prompt });
    expect(body.groups).toEqual([expect.objectContaining({ endpoint: 'chat', requests: 2 })]);
    expect(body.groups[0].p95LatencyMs).toBeGreaterThan(0);
    const csv = await fetch(`${gateway.url}/admin/v1/chargeback?format=csv`, {
      headers: gateway.authHeaders(),
    });
    expect((await csv.text()).split('\r\n')).toHaveLength(3);
  });
});
