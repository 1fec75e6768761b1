import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { bearer, call, chatBody } from 'test/e2e/support/admin-client';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';

jest.setTimeout(90_000);

const yamlWithSecret = (mockUrl: string) => `
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: $secret:openai-prod
        openai_api_base: ${mockUrl}/v1
`;

describe('provider secrets: AES-256-GCM under GATEHOUSE_MASTER_KEY, referenced as $secret:NAME', () => {
  let mock: OpenAIMock;
  const v1 = randomBytes(32).toString('base64');
  const v2 = randomBytes(32).toString('base64');
  const open: TestGateway[] = [];
  const boot = async (yaml: string, options: Parameters<typeof startGateway>[1]) => {
    const gateway = await startGateway(yaml, options);
    open.push(gateway);
    return gateway;
  };

  beforeAll(async () => {
    mock = await startOpenAIMock();
  });

  afterAll(async () => {
    for (const gateway of open.reverse()) await gateway.close();
    await mock?.close();
  });

  it('stores a secret write-only, uses it upstream after a restart, and re-encrypts on key rotation', async () => {
    const first = await boot('endpoints: []\n', { env: { GATEHOUSE_MASTER_KEY: v1 } });
    const put = await call(first.url, 'PUT', '/admin/v1/secrets/openai-prod', first.authHeaders(), {
      value: MOCK_API_KEY,
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: 'openai-prod', keyVersion: 1, created: true });
    const listed = await call(first.url, 'GET', '/admin/v1/secrets', first.authHeaders());
    expect(listed.body.map((s: { name: string }) => s.name)).toEqual(['openai-prod']);
    const audit = await call(
      first.url,
      'GET',
      '/admin/v1/audit?targetType=provider_secret',
      first.authHeaders(),
    );
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(['secret.create']);
    for (const text of [put, listed, audit].map((r) => JSON.stringify(r.body)))
      expect(text).not.toContain(MOCK_API_KEY);

    const db = new Client({ connectionString: first.databaseUrl });
    await db.connect();
    try {
      const row = (await db.query('SELECT * FROM provider_secrets')).rows[0] as Record<
        string,
        Buffer | number
      >;
      expect(row.key_version).toBe(1);
      expect((row.ciphertext as Buffer).toString('latin1')).not.toContain(MOCK_API_KEY);
      expect((row.iv as Buffer).length).toBe(12);
    } finally {
      await db.end();
    }

    // A replica booted with a YAML that references the secret sends it upstream.
    const second = await boot(yamlWithSecret(mock.url), {
      databaseUrl: first.databaseUrl,
      env: { GATEHOUSE_MASTER_KEY: v1 },
    });
    const chat = await call(
      second.url,
      'POST',
      '/v1/chat/completions',
      second.authHeaders(),
      chatBody('chat'),
    );
    expect(chat.status).toBe(200);
    expect(mock.requests[mock.requests.length - 1].headers.authorization).toBe(`Bearer ${MOCK_API_KEY}`);

    // Rotation: v2 becomes current, v1 stays readable until re-encryption; afterwards v2 alone suffices.
    const rotating = await boot('endpoints: []\n', {
      databaseUrl: first.databaseUrl,
      env: {
        GATEHOUSE_MASTER_KEY: v2,
        GATEHOUSE_MASTER_KEY_VERSION: '2',
        GATEHOUSE_MASTER_KEYS_PREVIOUS: `1:${v1}`,
      },
    });
    const re = await call(rotating.url, 'POST', '/admin/v1/secrets/reencrypt', rotating.authHeaders());
    expect(re.body).toEqual({ reencrypted: 1, keyVersion: 2 });
    const onlyV2 = await boot(yamlWithSecret(mock.url), {
      databaseUrl: first.databaseUrl,
      env: { GATEHOUSE_MASTER_KEY: v2, GATEHOUSE_MASTER_KEY_VERSION: '2' },
    });
    expect(
      (await call(onlyV2.url, 'POST', '/v1/chat/completions', onlyV2.authHeaders(), chatBody('chat'))).status,
    ).toBe(200);
  });

  it('refuses secrets without a master key, and to non-admins', async () => {
    const gateway = await boot('endpoints: []\n', {});
    const put = await call(gateway.url, 'PUT', '/admin/v1/secrets/x', gateway.authHeaders(), {
      value: 'sk-1',
    });
    expect([put.status, put.body.code]).toEqual([503, 'secrets_unavailable']);
    const p = await call(gateway.url, 'POST', '/admin/v1/principals', gateway.authHeaders(), {
      kind: 'user',
      name: 'op',
      roles: ['operator'],
    });
    const key = await call(gateway.url, 'POST', '/admin/v1/keys', gateway.authHeaders(), {
      name: 'k',
      principalId: p.body.id,
    });
    const denied = await call(gateway.url, 'PUT', '/admin/v1/secrets/x', bearer(key.body.key), {
      value: 'sk-2',
    });
    expect(denied.status).toBe(403);
    const badName = await call(gateway.url, 'PUT', '/admin/v1/secrets/bad%20name', gateway.authHeaders(), {
      value: 'sk-3',
    });
    expect(badName.status).toBe(400);
    expect(JSON.stringify(badName.body)).not.toContain('sk-3');
  });
});
