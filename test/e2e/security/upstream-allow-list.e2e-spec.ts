import { randomBytes } from 'node:crypto';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { call, chatBody } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { Listener, openaiEntry, startListener } from 'test/e2e/security/support';

jest.setTimeout(120_000);

/**
 * Endpoints created through the admin API reach only UPSTREAM_ALLOWED_HOSTS: checked when the entry is
 * written (after DNS) and on every connection; redirects are not followed. gateway.yaml is trusted.
 */
describe('upstream hosts from an allow-list', () => {
  let mock: OpenAIMock;
  let unlisted: OpenAIMock;
  let internal: Listener;
  let redirector: Listener;
  let gw: TestGateway;
  const admin = () => gw.authHeaders();
  const saved = process.env.MOCK_OPENAI_KEY;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    [mock, unlisted] = await Promise.all([startOpenAIMock(), startOpenAIMock()]);
    internal = await startListener();
    redirector = await startListener((res) => {
      res.writeHead(307, { location: `${internal.url}/v1/chat/completions` }).end();
    });
    const mockPort = new URL(mock.url).port;
    gw = await startGateway(`endpoints:\n${openaiEndpoint('file-chat', 'gpt-file', unlisted.url)}`, {
      env: {
        GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'),
        // Only the mock and the redirector, by address and port: nothing else on loopback.
        UPSTREAM_ALLOWED_HOSTS: `api.openai.com,127.0.0.1:${mockPort},127.0.0.1:${redirector.port}`,
      },
    });
    const put = await call(gw.url, 'PUT', '/admin/v1/secrets/mock-openai', admin(), { value: MOCK_API_KEY });
    expect(put.status).toBe(200);
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([mock?.close(), unlisted?.close(), internal?.close(), redirector?.close()]);
    process.env.MOCK_OPENAI_KEY = saved;
  });

  it('accepts a listed upstream and serves through it', async () => {
    const created = await call(
      gw.url,
      'POST',
      '/admin/v1/endpoints',
      admin(),
      openaiEntry('listed', '$secret:mock-openai', `${mock.url}/v1`),
    );
    expect(created.status).toBe(201);
    const chat = await call(gw.url, 'POST', '/v1/chat/completions', admin(), chatBody('listed'));
    expect(chat.status).toBe(200);
  });

  it('refuses unlisted, loopback-by-name, metadata and mapped addresses with a 400 (even for an admin)', async () => {
    const mockPort = new URL(mock.url).port;
    const cases: [string, string][] = [
      [`${internal.url}/v1`, `127.0.0.1:${internal.port} is not in UPSTREAM_ALLOWED_HOSTS`],
      [`http://localhost:${mockPort}/v1`, "host 'localhost'"],
      ['http://169.254.169.254/latest', '169.254.169.254:80 is not in UPSTREAM_ALLOWED_HOSTS'],
      [`http://[::ffff:127.0.0.1]:${mockPort}/v1`, 'is not in UPSTREAM_ALLOWED_HOSTS'],
      [
        `http://2130706433:${internal.port}/v1`,
        `127.0.0.1:${internal.port} is not in UPSTREAM_ALLOWED_HOSTS`,
      ],
      ['https://api.openai.com.attacker.example/v1', "host 'api.openai.com.attacker.example'"],
    ];
    for (const [base, message] of cases) {
      const created = await call(
        gw.url,
        'POST',
        '/admin/v1/endpoints',
        admin(),
        openaiEntry('ssrf', '$secret:mock-openai', base),
      );
      expect([base, created.status]).toEqual([base, 400]);
      expect(created.body.message).toContain('Upstream not allowed');
      expect(created.body.message).toContain(message);
    }
    // Multi-instance entries are checked instance by instance.
    const instances = await call(gw.url, 'POST', '/admin/v1/endpoints', admin(), {
      ...openaiEntry('ssrf-instances', '$secret:mock-openai', `${mock.url}/v1`),
      gatehouse: {
        instances: [
          { name: 'a', config: { openai_api_key: '$secret:mock-openai', openai_api_base: `${mock.url}/v1` } },
          {
            name: 'b',
            config: { openai_api_key: '$secret:mock-openai', openai_api_base: `${internal.url}/v1` },
          },
        ],
      },
    });
    expect(instances.status).toBe(400);
    expect(instances.body.message).toContain(`127.0.0.1:${internal.port}`);
    expect(internal.hits).toHaveLength(0);
  });

  it('does not follow a redirect to an internal host (502, nothing reaches it)', async () => {
    const created = await call(
      gw.url,
      'POST',
      '/admin/v1/endpoints',
      admin(),
      openaiEntry('redirecting', '$secret:mock-openai', `${redirector.url}/v1`),
    );
    expect(created.status).toBe(201);
    const chat = await call(gw.url, 'POST', '/v1/chat/completions', admin(), chatBody('redirecting'));
    expect(chat.status).toBe(502);
    expect(redirector.hits).toHaveLength(1);
    expect(internal.hits).toHaveLength(0);
  });

  it("trusts the host operator's gateway.yaml as before (an unlisted loopback upstream)", async () => {
    const chat = await call(gw.url, 'POST', '/v1/chat/completions', admin(), chatBody('file-chat'));
    expect(chat.status).toBe(200);
    expect(unlisted.requests).toHaveLength(1);
  });
});
