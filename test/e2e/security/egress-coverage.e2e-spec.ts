import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';
import { OidcHttpClient } from 'src/modules/auth/oidc-http.client';
import { LimitsAdminService } from 'src/modules/limits/limits-admin.service';
import { LimitsService } from 'src/modules/limits/limits.service';
import { ExternalModerationClient } from 'src/modules/moderation/external-moderation.client';
import { MlflowRegistryClient } from 'src/modules/registry/mlflow-registry.client';
import { ServingHealthMonitor } from 'src/modules/registry/serving-health.monitor';
import { InstanceHealthChecker } from 'src/modules/routing/traffic/instance-health.service';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { call, chatBody } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';

jest.setTimeout(120_000);

/** A plain-looking credential (no `sk-` shape): only knowing the value can catch it. */
const ECHO_KEY = `plain-echo-credential-${randomBytes(6).toString('hex')}`;

interface Counting {
  url: string;
  port: number;
  /** TCP connections accepted (a refused egress never opens one). */
  connections: number;
  requests: { method: string; path: string }[];
  close(): Promise<void>;
}

async function listen(answer: (res: import('node:http').ServerResponse) => void): Promise<Counting> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests.push({ method: req.method ?? '', path: req.url ?? '' });
      answer(res);
    });
  });
  const state: Counting = {
    url: '',
    port: 0,
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  return state;
}

/**
 * What UPSTREAM_ALLOWED_HOSTS covers beyond admin-API LLM endpoints: budget alert webhooks (at write time
 * and on every connection, no redirects), predict endpoints' serving_url_template, and the one HTTP
 * client every module shares. An upstream echoing a known secret in a header passed on is redacted.
 */
describe('egress allow-list coverage', () => {
  let mock: OpenAIMock;
  let internal: Counting;
  let redirector: Counting;
  let echo: Counting;
  let gw: TestGateway;
  const admin = () => gw.authHeaders();
  const saved = { mock: process.env.MOCK_OPENAI_KEY, echo: process.env.S4_ECHO_KEY };

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    process.env.S4_ECHO_KEY = ECHO_KEY;
    mock = await startOpenAIMock();
    internal = await listen((res) => res.writeHead(204).end());
    redirector = await listen((res) =>
      res.writeHead(307, { location: `${internal.url}/internal-hook` }).end(),
    );
    // Rate-limits every call and quotes the gateway's key back as its Retry-After.
    echo = await listen((res) =>
      res
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': ECHO_KEY })
        .end(
          JSON.stringify({ error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } }),
        ),
    );
    gw = await startGateway(
      `endpoints:
${openaiEndpoint('priced', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    gatehouse:\n      pricing: { input_per_million: 1000, output_per_million: 1000 }')}
  - name: echoing
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: $S4_ECHO_KEY
        openai_api_base: ${echo.url}/v1
`,
      {
        env: {
          GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'),
          // Only the redirector on loopback: the counting listener is internal and unlisted.
          UPSTREAM_ALLOWED_HOSTS: `api.openai.com,127.0.0.1:${redirector.port}`,
        },
      },
    );
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([mock?.close(), internal?.close(), redirector?.close(), echo?.close()]);
    process.env.MOCK_OPENAI_KEY = saved.mock;
    process.env.S4_ECHO_KEY = saved.echo;
  });

  const budget = (name: string, url: string) => ({
    name,
    scope: 'endpoint',
    subject: 'priced',
    period: 'daily',
    amount_usd: 0.000001,
    mode: 'soft',
    alert_webhook_url: url,
  });

  it('refuses a budget webhook on an unlisted loopback port when it is written (400, never connected)', async () => {
    const created = await call(
      gw.url,
      'POST',
      '/admin/v1/budgets',
      admin(),
      budget('to-internal', `${internal.url}/hook`),
    );
    expect(created.status).toBe(400);
    expect(created.body.message).toContain('alert_webhook_url refused');
    expect(created.body.message).toContain(`127.0.0.1:${internal.port} is not in UPSTREAM_ALLOWED_HOSTS`);
    const metadata = await call(
      gw.url,
      'POST',
      '/admin/v1/budgets',
      admin(),
      budget('to-metadata', 'http://169.254.169.254/latest/meta-data'),
    );
    expect(metadata.status).toBe(400);
    const list = await call(gw.url, 'GET', '/admin/v1/budgets', admin());
    expect(JSON.stringify(list.body)).not.toContain('to-internal');
    expect(internal.connections).toBe(0);
  });

  it('delivers a budget alert to a listed webhook without following its redirect to an internal host', async () => {
    const created = await call(
      gw.url,
      'POST',
      '/admin/v1/budgets',
      admin(),
      budget('to-redirector', `${redirector.url}/finops`),
    );
    expect(created.status).toBe(201);
    const chat = await call(gw.url, 'POST', '/v1/chat/completions', admin(), chatBody('priced'));
    expect(chat.status).toBe(200);
    await waitFor(() => redirector.requests.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(redirector.requests).toEqual([{ method: 'POST', path: '/finops' }]);
    expect(internal.connections).toBe(0);
    expect(internal.requests).toHaveLength(0);
  });

  it('refuses an admin-API predict endpoint whose serving_url_template points at an unlisted loopback port', async () => {
    const created = await call(gw.url, 'POST', '/admin/v1/endpoints', admin(), {
      name: 'api-predict',
      endpoint_type: 'ml/v1/predict',
      model: { provider: 'mlflow-model-registry', name: 'models:/churn/1' },
      gatehouse: { serving_url_template: `${internal.url}/{name}/{version}` },
    });
    expect(created.status).toBe(400);
    expect(created.body.message).toContain(`127.0.0.1:${internal.port} is not in UPSTREAM_ALLOWED_HOSTS`);
    expect(internal.connections).toBe(0);
  });

  it('replaces a known secret an upstream echoes in a header the gateway passes on (Retry-After)', async () => {
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...admin(), 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('echoing')),
    });
    const text = await response.text();
    expect(echo.requests.length).toBeGreaterThan(0);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('[REDACTED]');
    const everything = JSON.stringify([...response.headers.entries()]) + text;
    expect(everything).not.toContain(ECHO_KEY);
  });

  it('gives every module the one UpstreamHttpClient (one pair of Agents)', () => {
    const shared = gw.app.get(UpstreamHttpClient, { strict: false });
    const users = [
      LimitsService,
      LimitsAdminService,
      MlflowRegistryClient,
      ServingHealthMonitor,
      InstanceHealthChecker,
      OidcHttpClient,
      ExternalModerationClient,
    ].map((type) => gw.app.get<unknown, { http: unknown }>(type, { strict: false }).http);
    expect(users).toHaveLength(7);
    for (const http of users) expect(http).toBe(shared);
  });
});
