import { EventEmitter2 } from '@nestjs/event-emitter';
import { INVOCATION_FINISHED, InvocationRecord } from 'src/common/observability/invocation';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

/**
 * Retries, fallbacks, deadlines, circuit breakers, retry budgets and load-balanced instances against
 * local OpenAI-wire mocks (one per upstream, so each test can tell who was called).
 */
describe('traffic resilience', () => {
  let faults: OpenAIMock; // fault-by-model upstream (mock-503, mock-slow, mock-400, …)
  let backup: OpenAIMock;
  let flaky: OpenAIMock;
  let budgeted: OpenAIMock;
  let breakerMock: OpenAIMock;
  let pool: OpenAIMock[];
  let checked: OpenAIMock[];
  let gateway: TestGateway;
  const records: InvocationRecord[] = [];

  const chat = (model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders(), ...headers },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'one two three' }], ...extra }),
    });
  const recordOf = async (requestId: string | null): Promise<InvocationRecord> => {
    for (let i = 0; i < 100; i++) {
      const found = records.find((r) => r.requestId === requestId);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no record for ${requestId}`);
  };
  const at = (mock: OpenAIMock) => mock.requests.length;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    const mocks = await Promise.all(Array.from({ length: 10 }, () => startOpenAIMock()));
    [faults, backup, flaky, budgeted, breakerMock] = mocks;
    pool = mocks.slice(5, 8);
    checked = mocks.slice(8, 10);
    const instances = pool.map((m) => `        - config: {openai_api_base: "${m.url}/v1"}`).join('\n');
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('backup', 'gpt-4o-mini', backup.url)}
${openaiEndpoint('big', 'gpt-4.1', backup.url)}
${openaiEndpoint('primary-503', 'mock-503', faults.url, 'llm/v1/chat', '    gatehouse: {fallbacks: [backup]}')}
${openaiEndpoint('primary-slow', 'mock-slow', faults.url, 'llm/v1/chat', '    gatehouse: {timeout_ms: 500, fallbacks: [backup]}')}
${openaiEndpoint('primary-400', 'mock-400', faults.url, 'llm/v1/chat', '    gatehouse: {fallbacks: [backup], retry: {attempts: 3, backoff_ms: 0}}')}
${openaiEndpoint('deadline', 'mock-slow', faults.url, 'llm/v1/chat', '    gatehouse: {deadline_ms: 800, retry: {attempts: 5, backoff_ms: 0}}')}
${openaiEndpoint('plain-503', 'mock-503', faults.url)}
${openaiEndpoint('cut-late', 'mock-cut', faults.url, 'llm/v1/chat', '    gatehouse: {fallbacks: [backup], retry: {attempts: 2, backoff_ms: 0}}')}
${openaiEndpoint('flaky-capped', 'gpt-4o-mini', flaky.url, 'llm/v1/chat', '    gatehouse: {retry: {attempts: 2, backoff_ms: 0, retry_after_cap_ms: 300}}')}
${openaiEndpoint('flaky-honoured', 'gpt-4o-mini', flaky.url, 'llm/v1/chat', '    gatehouse: {retry: {attempts: 2, backoff_ms: 0, retry_after_cap_ms: 5000}}')}
${openaiEndpoint('budgeted', 'mock-500', budgeted.url, 'llm/v1/chat', '    gatehouse: {retry: {attempts: 3, backoff_ms: 0, budget: {ratio: 0.2, min_retries: 2}}}')}
${openaiEndpoint('guarded', 'gpt-4o-mini', breakerMock.url, 'llm/v1/chat', '    gatehouse: {circuit_breaker: {consecutive_failures: 2, cooldown_ms: 800}}')}
${openaiEndpoint(
  'pool',
  'gpt-4o-mini',
  pool[0].url,
  'llm/v1/chat',
  `    gatehouse:
      retry: {attempts: 2, backoff_ms: 0}
      ejection: {consecutive_failures: 2, base_ms: 60000}
      instances:
${instances}`,
)}
${openaiEndpoint(
  'checked',
  'gpt-4o-mini',
  checked[0].url,
  'llm/v1/chat',
  `    gatehouse:
      health_check: {path: /health, interval_ms: 150, unhealthy_threshold: 1}
      instances:
${checked.map((m, i) => `        - {name: i${i}, config: {openai_api_base: "${m.url}/v1"}}`).join('\n')}`,
)}
routes:
  - name: tiers
    task_type: llm/v1/chat
    destinations:
      - {name: backup, traffic_percentage: 100}
    gatehouse:
      rules:
        - {when: {metadata: {tier: premium}}, destination: big}
  - name: ab
    task_type: llm/v1/chat
    destinations:
      - {name: backup, traffic_percentage: 50}
      - {name: big, traffic_percentage: 50}
    gatehouse: {sticky: "header:x-user-id"}
  - name: guarded-route
    task_type: llm/v1/chat
    destinations:
      - {name: plain-503, traffic_percentage: 100}
    gatehouse: {fallbacks: [big]}
  - name: chained-route
    task_type: llm/v1/chat
    destinations:
      - {name: primary-503, traffic_percentage: 100}
    gatehouse: {fallbacks: [big]}
`);
    gateway.app.get(EventEmitter2).on(INVOCATION_FINISHED, (record: InvocationRecord) => {
      records.push({ ...record });
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all(
      [faults, backup, flaky, budgeted, breakerMock, ...(pool ?? []), ...(checked ?? [])].map((m) =>
        m?.close(),
      ),
    );
  });

  it('falls back on a 503 to the next endpoint, says who answered, and bills only the answer', async () => {
    const before = at(backup);
    const response = await chat('primary-503');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-gatehouse-target')).toBe('backup');
    expect(response.headers.get('x-gatehouse-attempts')).toBe('2');
    expect(response.headers.get('x-gatehouse-endpoint')).toBe('primary-503');
    const body = (await response.json()) as {
      model: string;
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    expect(body.model).toBe('gpt-4o-mini-2024-07-18');
    expect(at(backup)).toBe(before + 1);
    const record = await recordOf(response.headers.get('x-request-id'));
    expect(record).toMatchObject({
      endpoint: 'primary-503',
      target: 'backup',
      model: 'gpt-4o-mini',
      attempts: 2,
      status: 200,
      promptTokens: body.usage.prompt_tokens,
      completionTokens: body.usage.completion_tokens,
    });
  });

  it('falls back on a per-attempt timeout', async () => {
    const started = Date.now();
    const response = await chat('primary-slow');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-gatehouse-target')).toBe('backup');
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('never retries or falls back on a caller 4xx', async () => {
    const before = at(backup);
    const faultsBefore = at(faults);
    const response = await chat('primary-400');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /context length/,
    );
    expect(at(faults)).toBe(faultsBefore + 1);
    expect(at(backup)).toBe(before);
    expect(response.headers.get('x-gatehouse-attempts')).toBe('1');
  });

  it('streams: falls back before the first byte, and the SSE head names the answering target', async () => {
    const response = await chat('primary-503', { stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(response.headers.get('x-gatehouse-target')).toBe('backup');
    expect(response.headers.get('x-gatehouse-attempts')).toBe('2');
    const text = await response.text();
    expect(text).toContain('echo:');
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
  });

  it('streams: after the first chunk reached the client, a failure is reported, never retried', async () => {
    const before = at(backup);
    const faultsBefore = at(faults);
    const response = await chat('cut-late', { stream: true });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('echo:');
    expect(text).toMatch(/data: \{"error":\{"message":"upstream stream was interrupted"/);
    expect(text).not.toContain('[DONE]');
    expect(at(faults)).toBe(faultsBefore + 1);
    expect(at(backup)).toBe(before);
  });

  it('a route-level fallback chain applies after the chosen destination', async () => {
    const response = await chat('guarded-route');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-gatehouse-target')).toBe('big');
    expect(((await response.json()) as { model: string }).model).toBe('gpt-4.1-2024-07-18');
    // The destination's own fallbacks come first, then the route's.
    const chained = await chat('chained-route');
    expect(chained.headers.get('x-gatehouse-target')).toBe('backup');
  });

  it('the total deadline bounds retries', async () => {
    const faultsBefore = at(faults);
    const started = Date.now();
    const response = await chat('deadline');
    const elapsed = Date.now() - started;
    expect(response.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(elapsed).toBeLessThan(1_500);
    // Attempts only get what is left of the deadline, so the five allowed never all run (a pooled
    // connection the mock closed may cost one early retry on a loaded machine).
    expect(at(faults) - faultsBefore).toBeGreaterThanOrEqual(1);
    expect(at(faults) - faultsBefore).toBeLessThanOrEqual(2);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /800 ms deadline/,
    );
  });

  it('retries a 429 after its Retry-After, cut to the cap', async () => {
    flaky.failNext({ status: 429, retryAfter: '1' });
    const before = at(flaky);
    const capped = await chat('flaky-capped');
    expect(capped.status).toBe(200);
    expect(capped.headers.get('x-gatehouse-attempts')).toBe('2');
    const [first, second] = flaky.requests.slice(before);
    const gap = second.at - first.at;
    expect(gap).toBeGreaterThanOrEqual(280);
    expect(gap).toBeLessThan(900);

    flaky.failNext({ status: 429, retryAfter: '1' });
    const start = at(flaky);
    const honoured = await chat('flaky-honoured');
    expect(honoured.status).toBe(200);
    const [a, b] = flaky.requests.slice(start);
    expect(b.at - a.at).toBeGreaterThanOrEqual(950);
  });

  it('the retry budget caps retries during an outage', async () => {
    const before = at(budgeted);
    for (let i = 0; i < 10; i++) {
      const response = await chat('budgeted');
      expect(response.status).toBe(502);
    }
    // Without a budget: 10 × 3 = 30 calls. With min_retries 2 (0.2 × 10 = 2): 10 + 2.
    expect(at(budgeted) - before).toBe(12);
  });

  it('the circuit opens after consecutive failures, half-opens after the cool-down and closes', async () => {
    breakerMock.setFault({ status: 500 });
    expect((await chat('guarded')).status).toBe(502);
    expect((await chat('guarded')).status).toBe(502);
    const calls = at(breakerMock);
    const refused = await chat('guarded');
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /circuit breaker is open/,
    );
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(at(breakerMock)).toBe(calls); // the target was not called
    // Operators see it: the breaker gauge, and readiness degraded (not failing) with the reason.
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: gateway.authHeaders() })).text();
    expect(metrics).toContain('gatehouse_circuit_breaker_state{target="guarded",state="open"} 1');
    expect(metrics).toContain('gatehouse_circuit_breaker_state{target="guarded",state="closed"} 0');
    const ready = await fetch(`${gateway.url}/health/ready`, { headers: gateway.authHeaders() });
    expect(ready.status).toBe(200);
    expect(JSON.stringify(await ready.json())).toMatch(/degraded[\s\S]*guarded/);
    breakerMock.setFault(undefined);
    await new Promise((resolve) => setTimeout(resolve, 900));
    const probe = await chat('guarded');
    expect(probe.status).toBe(200);
    expect(at(breakerMock)).toBe(calls + 1);
    expect((await chat('guarded')).status).toBe(200);
  });

  it('balances instances round robin and ejects a failing one', async () => {
    const before = pool.map(at);
    for (let i = 0; i < 30; i++) expect((await chat('pool')).status).toBe(200);
    expect(pool.map((m, i) => at(m) - before[i])).toEqual([10, 10, 10]);

    pool[1].setFault({ status: 503 });
    const mid = pool.map(at);
    const targets = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const response = await chat('pool');
      expect(response.status).toBe(200);
      targets.add(response.headers.get('x-gatehouse-target') ?? '');
    }
    // Two failures in a row eject instance 2; every failed attempt was retried on another instance.
    expect(at(pool[1]) - mid[1]).toBe(2);
    expect([...targets].sort()).toEqual(['pool#1', 'pool#3']);
    expect(at(pool[0]) - mid[0] + at(pool[2]) - mid[2]).toBe(30);
    pool[1].setFault(undefined);
  });

  it('active health checks take a failing instance out of rotation before any request hits it, and back', async () => {
    const posts = (m: OpenAIMock) => m.requests.filter((r) => r.method === 'POST').length;
    await waitForChecks();
    checked[1].setFault({ status: 503 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const before = posts(checked[1]);
    for (let i = 0; i < 10; i++) {
      const response = await chat('checked');
      expect(response.status).toBe(200);
      expect(response.headers.get('x-gatehouse-target')).toBe('checked#i0');
    }
    expect(posts(checked[1])).toBe(before);
    checked[1].setFault(undefined);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const targets = new Set<string>();
    for (let i = 0; i < 4; i++) targets.add((await chat('checked')).headers.get('x-gatehouse-target') ?? '');
    expect([...targets].sort()).toEqual(['checked#i0', 'checked#i1']);
  });

  async function waitForChecks(): Promise<void> {
    for (let i = 0; i < 50 && checked[1].requests.filter((r) => r.method === 'GET').length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(checked[1].requests.some((r) => r.method === 'GET' && r.path === '/health')).toBe(true);
  }

  it('content rules and sticky splits reach the right endpoint', async () => {
    const premium = await chat('tiers', { metadata: { tier: 'premium' } });
    expect(premium.headers.get('x-gatehouse-endpoint')).toBe('big');
    const free = await chat('tiers', { metadata: { tier: 'free' } });
    expect(free.headers.get('x-gatehouse-endpoint')).toBe('backup');
    const seen = new Set<string>();
    for (let user = 0; user < 20; user++) {
      const endpoints = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const response = await chat('ab', {}, { 'x-user-id': `user-${user}` });
        endpoints.add(response.headers.get('x-gatehouse-endpoint') ?? '');
      }
      expect(endpoints.size).toBe(1);
      seen.add([...endpoints][0]);
    }
    expect(seen.size).toBe(2);
  });
});
