import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { GatewayProcess, startGatewayProcess } from 'test/e2e/support/gateway-process';
import { createTestDatabase, openaiEndpoint } from 'test/e2e/support/test-gateway';

jest.setTimeout(180_000);

interface Outcome {
  status: number;
  retryAfter?: string;
  code?: string;
  ms: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Admission control turned on with its measured setting (ADMISSION_TARGET_DELAY_MS 50, ADMISSION_INTERVAL_MS 1000) in
 * one real gateway process: a burst it can drain is admitted whole, an open-loop load at several times
 * its measured capacity is shed with 503 `overloaded` + Retry-After (and nothing else fails), health
 * answers throughout, and admission resumes once the load stops.
 */
describe('admission control (one gateway process)', () => {
  let mock: OpenAIMock;
  let gateway: GatewayProcess;
  let pool: Pool;
  let drop: (() => Promise<void>) | undefined;
  const apiKey = `gh_test_${randomBytes(16).toString('hex')}`;

  async function chat(i: number): Promise<Outcome> {
    const started = performance.now();
    try {
      const response = await pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: `hello ${i}` }] }),
      });
      const text = await response.body.text();
      const retryAfter = response.headers['retry-after'];
      let code: string | undefined;
      if (response.statusCode !== 200)
        code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? undefined;
      return {
        status: response.statusCode,
        retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
        code,
        ms: performance.now() - started,
      };
    } catch {
      return { status: 0, ms: performance.now() - started };
    }
  }

  beforeAll(async () => {
    mock = await startOpenAIMock();
    const database = await createTestDatabase();
    drop = database.drop;
    gateway = await startGatewayProcess(`endpoints:\n${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}\n`, {
      GATEHOUSE_ADMIN_API_KEY: apiKey,
      MOCK_OPENAI_KEY: MOCK_API_KEY,
      DATABASE_URL: database.url,
      ADMISSION_TARGET_DELAY_MS: '50',
      ADMISSION_INTERVAL_MS: '1000',
    });
    pool = new Pool(gateway.url, { connections: 256, keepAliveTimeout: 10_000 });
    // Warm: the first requests compile and fill caches.
    for (let i = 0; i < 20; i++) expect((await chat(i)).status).toBe(200);
  });

  afterAll(async () => {
    await pool?.close();
    await gateway?.stop();
    await mock?.close();
    await drop?.();
  });

  it('admits a burst it can drain, sheds a sustained overload with 503 + Retry-After, then admits again', async () => {
    // A burst of 40 at once: the loop is busy for well under the interval, so nothing is shed.
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(1_000 + i)));
    expect(burst.map((r) => r.status)).toEqual(burst.map(() => 200));
    await sleep(2_500);

    // Capacity: a closed loop of 16 callers for 2 s.
    let done = 0;
    const until = Date.now() + 2_000;
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = 0; Date.now() < until; i++) if ((await chat(w * 10_000 + i)).status === 200) done++;
      }),
    );
    const capacity = done / 2;
    expect(capacity).toBeGreaterThan(5);

    // Open loop at 4× capacity for 5 s (bounded: at most 6 000 requests), health polled meanwhile.
    const rate = Math.min(1_200, Math.max(100, Math.round(capacity * 4)));
    const count = rate * 5;
    const replies: Promise<Outcome>[] = [];
    const health: Promise<number>[] = [];
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const wait = started + (i * 1000) / rate - Date.now();
      if (wait > 0) await sleep(wait);
      replies.push(chat(100_000 + i));
      if (i % rate === 0)
        health.push(
          pool
            .request({ path: '/health/live', method: 'GET' })
            .then(async (r) => (await r.body.dump(), r.statusCode))
            .catch(() => 0),
        );
    }
    const outcomes = await Promise.all(replies);
    const shed = outcomes.filter((r) => r.status === 503);
    const admitted = outcomes.filter((r) => r.status === 200);
    expect(shed.length).toBeGreaterThan(count / 20);
    expect(shed.every((r) => r.retryAfter === '1' && r.code === 'overloaded')).toBe(true);
    // Nothing fails but shedding: every request is answered, 200 or 503.
    expect(admitted.length + shed.length).toBe(count);
    expect(admitted.length).toBeGreaterThan(0);
    expect(await Promise.all(health)).toEqual(health.map(() => 200));

    // The load is gone: within a few seconds requests are admitted again.
    let resumed = false;
    for (let i = 0; i < 20 && !resumed; i++) {
      await sleep(250);
      resumed = (await chat(900_000 + i)).status === 200;
    }
    expect(resumed).toBe(true);
    process.stdout.write(
      `admission e2e: capacity ${capacity} req/s, offered ${rate} req/s × 5 s: ${admitted.length} admitted, ${shed.length} shed\n`,
    );
  });
});
