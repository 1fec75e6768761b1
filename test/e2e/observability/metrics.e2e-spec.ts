import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CircuitStates } from 'src/modules/observability/metrics/circuit-states';
import { MetricsServer } from 'src/modules/observability/metrics/metrics.server';
import { call } from 'test/e2e/support/admin-client';
import {
  ensurePromtool,
  Exposition,
  metricNames,
  metricsInPromQL,
  parseExposition,
  promtool,
  total,
} from 'test/e2e/support/prometheus';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';

jest.setTimeout(120_000);

const REPO_ROOT = join(__dirname, '..', '..', '..');
const DASHBOARD = join(REPO_ROOT, 'deploy', 'grafana', 'dashboards', 'gatehouse.json');
const PROMETHEUS_DIR = join(REPO_ROOT, 'deploy', 'prometheus');

const cache = `    gatehouse:\n      cache: {ttl_seconds: 600}\n`;
const moderation = `    gatehouse:\n      moderation: guarded\n`;

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

/**
 * Known traffic against the OpenAI mock, then one scrape: every counter must hold exactly what was sent.
 * N fresh answers (cache misses), K cache hits, M upstream failures, one unknown model, one stream, one
 * guardrail block.
 */
describe('Prometheus metrics', () => {
  const N = 3;
  const K = 2;
  const M = 2;
  const token = `mt_${randomBytes(16).toString('hex')}`;
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let exposition: Exposition;
  let text: string;
  const spent = { input: 0, output: 0 };

  const chat = async (
    model: string,
    content: string,
    extra: Record<string, unknown> = {},
    signal?: AbortSignal,
  ) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      signal,
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify({ model, messages: [{ role: 'user', content }], temperature: 0, ...extra }),
    });
  const scrape = async (headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
    fetch(`${gateway.url}/metrics`, { headers });

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    const promtoolReady = ensurePromtool();
    mock = await startOpenAIMock();
    gateway = await startGateway(
      `
gatehouse:
  moderation:
    policies:
      guarded:
        input:
          - {type: deny-list, keywords: [project nightingale]}
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url, 'llm/v1/chat', cache)}
${openaiEndpoint('broken', 'mock-500', mock.url, 'llm/v1/chat')}
${openaiEndpoint('guarded', 'gpt-4o-mini', mock.url, 'llm/v1/chat', moderation)}
${openaiEndpoint('hanging', 'mock-hang', mock.url, 'llm/v1/chat')}
`,
      // A registry that cannot be reached: its gauges exist and say so.
      {
        env: {
          METRICS_TOKEN: token,
          METRICS_PORT: '0',
          METRICS_HOST: '127.0.0.1',
          MLFLOW_TRACKING_URI: 'http://127.0.0.1:9',
          REGISTRY_REQUEST_TIMEOUT_MS: '500',
        },
      },
    );

    for (let i = 0; i < N; i++) {
      const response = await chat('chat', `fresh question ${i}`);
      expect([response.status, response.headers.get('x-gatehouse-cache')]).toEqual([200, 'miss']);
      const usage = ((await response.json()) as { usage: Usage }).usage;
      spent.input += usage.prompt_tokens;
      spent.output += usage.completion_tokens;
    }
    for (let i = 0; i < K; i++) {
      const response = await chat('chat', 'fresh question 0');
      expect([response.status, response.headers.get('x-gatehouse-cache')]).toEqual([200, 'hit']);
      await response.arrayBuffer();
    }
    for (let i = 0; i < M; i++) {
      const response = await chat('broken', 'this fails upstream');
      expect(response.status).toBeGreaterThanOrEqual(500);
      await response.arrayBuffer();
    }
    const unknown = await chat('no-such-model', 'hello');
    expect(unknown.status).toBe(404);
    await unknown.arrayBuffer();

    // One stream (sampled, so the cache is bypassed) for time to first token.
    const stream = await chat('chat', 'a streamed story', {
      stream: true,
      temperature: 0.7,
      stream_options: { include_usage: true },
    });
    expect(stream.status).toBe(200);
    const usage = (await stream.text())
      .split('\n\n')
      .map((event) => event.replace(/^data: /, ''))
      .filter((data) => data.startsWith('{'))
      .map((data) => JSON.parse(data) as { usage?: Usage })
      .find((chunk) => chunk.usage)?.usage;
    spent.input += usage!.prompt_tokens;
    spent.output += usage!.completion_tokens;

    const blocked = await chat('guarded', 'tell me about project nightingale');
    expect(blocked.status).toBe(400);
    await blocked.arrayBuffer();
    const allowed = await chat('guarded', 'tell me about the weather');
    expect(allowed.status).toBe(200);
    const allowedUsage = ((await allowed.json()) as { usage: Usage }).usage;
    spent.input += allowedUsage.prompt_tokens;
    spent.output += allowedUsage.completion_tokens;

    // Records are emitted when each response socket closes: wait until the last one is counted.
    for (let i = 0; i < 100; i++) {
      text = await (await scrape()).text();
      exposition = parseExposition(text);
      if (total(exposition, 'gatehouse_requests_total') === N + K + M + 4) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await promtoolReady;
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('counts requests by endpoint, target and status class, exactly', () => {
    const requests = (labels: Record<string, string>) =>
      total(exposition, 'gatehouse_requests_total', labels);
    expect(requests({})).toBe(N + K + M + 4);
    expect(requests({ endpoint: 'chat', target: 'chat', status_class: '2xx' })).toBe(N + 1);
    expect(requests({ endpoint: 'chat', target: 'cache', status_class: '2xx' })).toBe(K);
    expect(requests({ endpoint: 'broken', target: 'broken', status_class: '5xx' })).toBe(M);
    expect(requests({ endpoint: 'guarded', status_class: '4xx' })).toBe(1);
    expect(requests({ endpoint: 'guarded', target: 'guarded', status_class: '2xx' })).toBe(1);
    const count = (labels: Record<string, string>) =>
      total(exposition, 'gatehouse_request_duration_seconds_count', labels);
    expect(count({ endpoint: 'chat' })).toBe(N + K + 1);
    expect(count({ endpoint: 'broken', status_class: '5xx' })).toBe(M);
    // The +Inf bucket holds every observation.
    expect(
      total(exposition, 'gatehouse_request_duration_seconds_bucket', { endpoint: 'chat', le: '+Inf' }),
    ).toBe(N + K + 1);
    expect(total(exposition, 'gatehouse_request_duration_seconds_sum', { endpoint: 'chat' })).toBeGreaterThan(
      0,
    );
  });

  it('folds an unknown model into endpoint="other" and never echoes the name', () => {
    expect(total(exposition, 'gatehouse_requests_total', { endpoint: 'other', status_class: '4xx' })).toBe(1);
    expect(text).not.toContain('no-such-model');
    // No credential ever reaches the exposition.
    for (const secret of [gateway.apiKey, token, MOCK_API_KEY]) expect(text).not.toContain(secret);
    // The team label is the bootstrap admin's team name or `none`, never an id.
    const teams = new Set(
      exposition.samples.filter((s) => s.name === 'gatehouse_requests_total').map((s) => s.labels.team),
    );
    expect(teams.size).toBe(1);
    expect([...teams][0]).not.toMatch(/^[0-9a-f]{8}-/);
  });

  it('times every upstream attempt and the first token of streams', () => {
    const attempts = (labels: Record<string, string>) =>
      total(exposition, 'gatehouse_upstream_attempt_duration_seconds_count', labels);
    expect(attempts({ endpoint: 'chat', target: 'chat', provider: 'openai', result: '2xx' })).toBe(N + 1);
    expect(attempts({ endpoint: 'broken', result: '5xx' })).toBe(M);
    expect(attempts({ endpoint: 'guarded' })).toBe(1);
    expect(attempts({})).toBe(N + 1 + M + 1);
    expect(
      total(exposition, 'gatehouse_upstream_time_to_first_token_seconds_count', { endpoint: 'chat' }),
    ).toBe(1);
    expect(total(exposition, 'gatehouse_time_to_first_token_seconds_count', { endpoint: 'chat' })).toBe(1);
  });

  it('counts tokens, cache lookups and guardrail verdicts', () => {
    expect(spent.input).toBeGreaterThan(0);
    expect(total(exposition, 'gatehouse_tokens_total', { direction: 'input' })).toBe(spent.input);
    expect(total(exposition, 'gatehouse_tokens_total', { direction: 'output' })).toBe(spent.output);
    expect(total(exposition, 'gatehouse_cache_lookups_total', { result: 'hit' })).toBe(K);
    expect(total(exposition, 'gatehouse_cache_lookups_total', { result: 'miss' })).toBe(N);
    expect(total(exposition, 'gatehouse_cache_lookups_total', { result: 'bypass' })).toBe(1);
    expect(total(exposition, 'gatehouse_cache_hits_total', { endpoint: 'chat' })).toBe(K);
    expect(
      total(exposition, 'gatehouse_moderation_verdicts_total', {
        endpoint: 'guarded',
        stage: 'input',
        action: 'block',
      }),
    ).toBe(1);
    expect(
      total(exposition, 'gatehouse_moderation_verdicts_total', {
        endpoint: 'guarded',
        stage: 'input',
        action: 'allow',
      }),
    ).toBe(1);
    // No limits or pricing are configured: no refusals, no cost series.
    expect(total(exposition, 'gatehouse_refusals_total')).toBe(0);
    expect(exposition.types.get('gatehouse_refusals_total')).toBe('counter');
    expect(exposition.types.get('gatehouse_cost_usd_total')).toBe('counter');
  });

  it('has in-flight, HTTP, process and registry metrics, and no circuit series without breakers', () => {
    expect(total(exposition, 'gatehouse_requests_in_flight')).toBe(0);
    expect(total(exposition, 'gatehouse_http_requests_total')).toBeGreaterThanOrEqual(N + K + M + 4);
    expect(total(exposition, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(total(exposition, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    // Nothing ever synced: the age counts from start-up, the sync is not healthy, no models.
    expect(total(exposition, 'gatehouse_registry_sync_age_seconds')).toBeGreaterThan(0);
    expect(total(exposition, 'gatehouse_registry_sync_healthy')).toBe(0);
    expect(total(exposition, 'gatehouse_registry_models')).toBe(0);
    expect(exposition.samples.filter((s) => s.name === 'gatehouse_circuit_breaker_state')).toEqual([]);
  });

  it('counts every HTTP request by status class, refusals before the guards included', async () => {
    const fourxx = async () =>
      total(parseExposition(await (await scrape()).text()), 'gatehouse_http_requests_total', {
        status_class: '4xx',
      });
    const before = await fourxx();
    const refused = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(401);
    await refused.arrayBuffer();
    await waitFor(async () => (await fourxx()) === before + 1);
    expect(await fourxx()).toBe(before + 1);
  });

  it('shows a stream in flight, and a client that went away as cancelled', async () => {
    const metric = async (name: string, labels: Record<string, string> = {}) =>
      total(parseExposition(await (await scrape()).text()), name, labels);
    const cancelledBefore = await metric('gatehouse_requests_total', { endpoint: 'hanging' });
    const controller = new AbortController();
    const response = await chat('hanging', 'never ends', { stream: true }, controller.signal);
    const reader = response.body!.getReader();
    await reader.read();
    expect(await metric('gatehouse_requests_in_flight')).toBe(1);
    controller.abort();
    await waitFor(async () => (await metric('gatehouse_requests_in_flight')) === 0);
    await waitFor(
      async () =>
        (await metric('gatehouse_requests_total', { endpoint: 'hanging', status_class: 'cancelled' })) ===
        cancelledBefore + 1,
    );
  });

  it('shows what a registered circuit-breaker source reports', async () => {
    const unregister = gateway.app.get(CircuitStates).register({
      circuits: () => [
        { target: 'chat', state: 'closed' },
        { target: 'broken', state: 'open', reason: '5 consecutive failures' },
      ],
    });
    try {
      const now = parseExposition(await (await scrape()).text());
      const state = (target: string, s: string) =>
        total(now, 'gatehouse_circuit_breaker_state', { target, state: s });
      expect([state('chat', 'closed'), state('chat', 'open'), state('broken', 'open')]).toEqual([1, 0, 1]);
      expect(state('broken', 'half_open')).toBe(0);
    } finally {
      unregister();
    }
  });

  it('passes promtool check metrics', async () => {
    const result = await promtool(['check', 'metrics'], text);
    expect(result).toEqual({ code: 0, out: '' });
  });

  it('guards /metrics: 401 without or with a wrong token, 200 with the token or an operator key', async () => {
    const none = await scrape({});
    expect(none.status).toBe(401);
    expect(((await none.json()) as { code: string }).code).toBe('missing_credentials');
    expect((await scrape({ authorization: 'Bearer not-the-metrics-token' })).status).toBe(401);
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await ok.text()).toContain('# TYPE gatehouse_requests_total counter');
    // The admin key (a principal with metrics.read) works through the normal auth.
    const admin = await scrape(gateway.authHeaders());
    expect(admin.status).toBe(200);
    expect(await admin.text()).toContain('gatehouse_requests_total{');
  });

  it('refuses a developer (no metrics.read) with 403', async () => {
    const admin = gateway.authHeaders();
    const team = await call(gateway.url, 'POST', '/admin/v1/teams', admin, { name: 'metrics-devs' });
    expect(team.status).toBe(201);
    const principal = await call(gateway.url, 'POST', '/admin/v1/principals', admin, {
      kind: 'user',
      name: 'metrics-dev',
      teamId: team.body.id,
      roles: ['developer'],
    });
    const key = await call(gateway.url, 'POST', '/admin/v1/keys', admin, {
      name: 'k',
      principalId: principal.body.id,
    });
    expect(key.status).toBe(201);
    const response = await scrape({ authorization: `Bearer ${key.body.key as string}` });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { message: string }).message).toContain("'metrics.read'");
  });

  it('serves the same exposition on METRICS_PORT without authentication, and nothing else there', async () => {
    const port = gateway.app.get(MetricsServer).port;
    expect(port).toEqual(expect.any(Number));
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    const separate = parseExposition(await response.text());
    expect(total(separate, 'gatehouse_requests_total', { endpoint: 'chat', target: 'cache' })).toBe(K);
    expect((await fetch(`http://127.0.0.1:${port}/admin/v1/me`)).status).toBe(404);
  });

  it('has every metric the Grafana dashboard queries', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Panel[] };
    const exprs = panelsOf(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    const used = new Set(exprs.flatMap(metricsInPromQL));
    expect(used.size).toBeGreaterThanOrEqual(8);
    const known = metricNames(exposition);
    expect([...used].filter((name) => !known.has(name))).toEqual([]);
  });

  it('ships a Prometheus config and alert rules that promtool accepts, on metrics that exist', async () => {
    // The stack writes the scrape token to /tmp/metrics_token; promtool wants the file to exist.
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-prom-'));
    try {
      const config = await readFile(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8');
      expect(config).toContain('credentials_file: /tmp/metrics_token');
      await writeFile(join(dir, 'prometheus.yml'), config.replace('/tmp/metrics_token', join(dir, 'token')));
      await writeFile(join(dir, 'token'), token);
      await copyFile(join(PROMETHEUS_DIR, 'alerts.yml'), join(dir, 'alerts.yml'));
      const checked = await promtool(['check', 'config', join(dir, 'prometheus.yml')]);
      expect([checked.code, checked.out]).toEqual([
        0,
        expect.stringContaining('SUCCESS: 1 rule files found'),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const rules = parse(await readFile(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const exprs = rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(5);
    const known = metricNames(exposition);
    const used = new Set(exprs.flatMap(metricsInPromQL));
    // `up` is Prometheus' own series for every scrape target.
    expect([...used].filter((name) => name !== 'up' && !known.has(name))).toEqual([]);
  });

  it('brings up the whole stack in docker-compose.yml, Prometheus scraping with the token', async () => {
    const compose = parse(await readFile(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { environment?: Record<string, string>; volumes?: string[] }>;
    };
    expect(Object.keys(compose.services).sort()).toEqual(
      ['gatehouse', 'grafana', 'jaeger', 'lb', 'migrate', 'mlflow', 'postgres', 'prometheus', 'redis'].sort(),
    );
    const gatehouse = compose.services.gatehouse.environment!;
    expect(gatehouse.METRICS_TOKEN).toBe(compose.services.prometheus.environment!.METRICS_TOKEN);
    expect(gatehouse.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
    expect(gatehouse.MLFLOW_TRACKING_URI).toBe('http://mlflow:5000');
    expect(compose.services.grafana.volumes).toEqual(
      expect.arrayContaining([
        './deploy/grafana/provisioning:/etc/grafana/provisioning:ro',
        './deploy/grafana/dashboards:/etc/grafana/dashboards:ro',
      ]),
    );
    const provider = parse(
      await readFile(join(REPO_ROOT, 'deploy/grafana/provisioning/dashboards/dashboards.yml'), 'utf8'),
    ) as { providers: { options: { path: string } }[] };
    expect(provider.providers[0].options.path).toBe('/etc/grafana/dashboards');
  });
});

interface Panel {
  targets?: { expr?: string }[];
  panels?: Panel[];
}

function panelsOf(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
}
