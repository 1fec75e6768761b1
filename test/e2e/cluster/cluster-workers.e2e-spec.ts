import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Agent, Pool, request } from 'undici';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { GatewayProcess, startGatewayProcess } from 'test/e2e/support/gateway-process';
import { createTestDatabase, openaiEndpoint, waitFor } from 'test/e2e/support/test-gateway';

jest.setTimeout(300_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * GATEHOUSE_WORKERS=2 on one PostgreSQL: the real src/main.ts as a cluster primary with two workers on
 * one port. Each request below is counted: in the answers, in the usage ledger, in /metrics.
 */
describe('GATEHOUSE_WORKERS=2: one port, a primary that restarts and drains its workers', () => {
  let mock: OpenAIMock;
  let database: { url: string; drop: () => Promise<void> };
  let gateway: GatewayProcess;
  let stopped = false;
  const apiKey = `gh_test_${randomBytes(16).toString('hex')}`;
  const metricsToken = `metrics_${randomBytes(16).toString('hex')}`;
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const chat = (model: string, stream = false) =>
    JSON.stringify({
      model,
      messages: [{ role: 'user', content: 'hello there' }],
      ...(stream ? { stream: true } : {}),
    });

  /** One request on a connection of its own (so the primary hands it to the next worker). */
  const once = async (path: string, body: string | undefined, extra: Record<string, string> = {}) => {
    const response = await request(`${gateway.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { ...headers, ...extra },
      body,
      reset: true,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    return { status: response.statusCode, text: await response.body.text() };
  };

  const ledgerRows = async (idPrefix: string): Promise<number> => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const result = await client.query<{ n: string }>(
        'SELECT count(*) AS n FROM usage_records WHERE request_id LIKE $1',
        [`${idPrefix}%`],
      );
      return Number(result.rows[0].n);
    } finally {
      await client.end();
    }
  };

  /** Worker pids from the primary's "worker N listening" lines, newest last. */
  const workerPids = (): number[] =>
    gateway
      .lines()
      .filter((l) => l.role === 'primary' && typeof l.workerPid === 'number')
      .map((l) => l.workerPid as number);

  beforeAll(async () => {
    mock = await startOpenAIMock();
    database = await createTestDatabase();
    const yaml = `endpoints:\n${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}\n${openaiEndpoint(
      'slow',
      'mock-slow',
      mock.url,
    )}\n${openaiEndpoint('hang', 'mock-hang', mock.url)}\n`;
    gateway = await startGatewayProcess(
      yaml,
      {
        GATEHOUSE_WORKERS: '2',
        GATEHOUSE_ADMIN_API_KEY: apiKey,
        MOCK_OPENAI_KEY: MOCK_API_KEY,
        DATABASE_URL: database.url,
        METRICS_TOKEN: metricsToken,
        SHUTDOWN_DRAIN_MS: '6000',
        SHUTDOWN_READY_DELAY_MS: '1500',
        LOG_LEVEL: 'info',
      },
      /all 2 workers listening/,
    );
  });

  afterAll(async () => {
    if (!stopped) await gateway?.stop();
    await mock?.close();
    await database?.drop();
  });

  it('serves one port from two workers and sums their counters in /metrics', async () => {
    expect(new Set(workerPids()).size).toBe(2);
    const n = 40;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        sleep(i * 10).then(() => once('/v1/chat/completions', chat('chat'), { 'x-request-id': `sum-${i}` })),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(n).fill(200));
    // Both workers answered some of them (the access log carries the serving process's pid).
    const servedBy = new Set(
      gateway
        .lines()
        .filter((l) => typeof l.requestId === 'string' && l.requestId.startsWith('sum-'))
        .map((l) => l.pid),
    );
    expect(servedBy.size).toBe(2);
    // Whichever worker takes the scrape, the counter is the sum over both.
    for (let scrape = 0; scrape < 4; scrape++) {
      const metrics = await once('/metrics', undefined, { authorization: `Bearer ${metricsToken}` });
      expect(metrics.status).toBe(200);
      const total = metrics.text
        .split('\n')
        .filter((line) => line.startsWith('gatehouse_requests_total{') && line.includes('endpoint="chat"'))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
      expect(total).toBe(n);
    }
  });

  it('restarts a killed worker while the port keeps answering', async () => {
    const before = workerPids();
    const victim = before[before.length - 1];
    process.kill(victim, 'SIGKILL');
    // (A connection the primary hands over at the very instant of the crash dies with the worker, as
    // with any crashed process; from the primary's notice on, the other worker takes every connection.)
    await waitFor(() => /worker \d exited \(signal SIGKILL\)/.test(gateway.stdout()), 10_000);
    // While the replacement boots, the other worker answers, connection after connection.
    for (let i = 0; i < 10; i++) expect((await once('/v1/chat/completions', chat('chat'))).status).toBe(200);
    expect(workerPids()).toHaveLength(before.length);
    await waitFor(() => workerPids().length === before.length + 1, 90_000);
    const fresh = workerPids()[before.length];
    expect(fresh).not.toBe(victim);
    expect(() => process.kill(fresh, 0)).not.toThrow();
  });

  it('rolls every worker under steady load and loses no request and no ledger row', async () => {
    const pool = new Pool(gateway.url, { connections: 16, keepAliveTimeout: 30_000 });
    let sent = 0;
    let ok = 0;
    let failed = 0;
    let resent = 0;
    const statuses: Record<string, number> = {};
    const pending = new Set<Promise<void>>();
    const send = async (id: string): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        try {
          const response = await pool.request({
            path: '/v1/chat/completions',
            method: 'POST',
            headers: { ...headers, 'x-request-id': id },
            body: chat('chat'),
          });
          await response.body.text();
          statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
          if (response.statusCode === 200) ok++;
          else failed++;
          return;
        } catch (error) {
          // A keep-alive connection the server closed as idle just as it was reused: the request never
          // reached the gateway (no answer, no ledger row — checked below), so it is sent again once,
          // as any HTTP client or load balancer does.
          const code = (error as { code?: string }).code;
          if (attempt === 0 && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')) {
            resent++;
            continue;
          }
          failed++;
          return;
        }
      }
    };
    const rollsBefore = (gateway.stdout().match(/rolling restart done/g) ?? []).length;
    const started = Date.now();
    let rolled = false;
    let rolledAt = 0;
    // ~50-60 requests/s for at least 30 s and until 3 s after the restart is over, at most 150 s.
    const load = (async () => {
      while (Date.now() - started < 150_000) {
        if (!rolled && (gateway.stdout().match(/rolling restart done/g) ?? []).length > rollsBefore) {
          rolled = true;
          rolledAt = Date.now();
        }
        if (rolled && Date.now() - rolledAt > 3_000 && Date.now() - started > 30_000) break;
        const p = send(`roll-${sent++}`);
        pending.add(p);
        void p.finally(() => pending.delete(p));
        await sleep(16);
      }
      await Promise.all(pending);
    })();
    await sleep(2_000);
    const before = workerPids();
    gateway.signal('SIGHUP');
    await load;
    await pool.close();
    expect(rolled).toBe(true);
    // Both workers were replaced.
    const after = workerPids().slice(before.length);
    expect(after).toHaveLength(2);
    expect(statuses).toEqual({ 200: sent });
    expect(failed).toBe(0);
    expect(ok).toBe(sent);
    expect(sent).toBeGreaterThan(1_000);
    // Every answered request is in the ledger once (a resent request was never seen by the first worker).
    await waitFor(async () => (await ledgerRows('roll-')) >= ok, 15_000);
    await sleep(1_000);
    expect(await ledgerRows('roll-')).toBe(ok);
    process.stdout.write(
      `rolling restart: ${sent} requests in ${((Date.now() - started) / 1000).toFixed(1)} s, ${ok} answered 200, ${resent} resent after an idle-connection reset, ${failed} failed\n`,
    );
  });

  it('on SIGTERM turns unready, finishes in-flight requests, ends a long stream with an error event, flushes the ledger and exits 0', async () => {
    const agent = new Agent({ keepAliveTimeout: 30_000 });
    const slow = Array.from({ length: 6 }, (_, i) =>
      request(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...headers, 'x-request-id': `drain-json-${i}` },
        body: chat('slow'),
        dispatcher: agent,
      }).then(async (r) => ({
        status: r.statusCode,
        body: (await r.body.json()) as Record<string, unknown>,
      })),
    );
    const stream = request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...headers, 'x-request-id': 'drain-stream-0' },
      body: chat('hang', true),
      dispatcher: agent,
    }).then(async (r) => ({ status: r.statusCode, text: await r.body.text(), at: Date.now() }));
    const slowSeen = () => mock.requests.filter((r) => (r.body as { model?: string }).model === 'mock-slow');
    await waitFor(() => slowSeen().length === 6, 10_000);
    const signalled = Date.now();
    const exit = (async () => {
      gateway.signal('SIGTERM');
      return new Promise<void>((resolve) => {
        const check = setInterval(() => {
          try {
            process.kill(gateway.pid, 0);
          } catch {
            clearInterval(check);
            resolve();
          }
        }, 100);
      });
    })();
    // Readiness is 503 while the listener still accepts (SHUTDOWN_READY_DELAY_MS).
    await sleep(300);
    const ready = await once('/health/ready', undefined);
    expect(ready.status).toBe(503);
    const answers = await Promise.all(slow);
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    for (const answer of answers) expect(answer.body.object).toBe('chat.completion');
    const streamed = await stream;
    expect(streamed.status).toBe(200);
    const events = streamed.text.trim().split('\n\n');
    expect(events.length).toBeGreaterThanOrEqual(2);
    const last = JSON.parse(events[events.length - 1].replace(/^data: /, '')) as {
      error: { code: string; type: string };
    };
    expect(last.error).toMatchObject({ code: 'server_shutting_down', type: 'server_error' });
    expect(streamed.text).not.toContain('[DONE]');
    // Ended at the drain deadline (ready delay 1.5 s + drain 6 s), not before, not long after.
    expect(streamed.at - signalled).toBeGreaterThanOrEqual(7_000);
    expect(streamed.at - signalled).toBeLessThan(30_000);
    await exit;
    stopped = true;
    const result = await gateway.stop();
    expect(result).toEqual({ code: 0, signal: null });
    // Written before the workers exited: the 6 answers and the cut stream.
    expect(await ledgerRows('drain-')).toBe(7);
    await agent.close();
  });
});
