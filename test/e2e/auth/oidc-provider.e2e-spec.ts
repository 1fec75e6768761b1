import OpenAI from 'openai';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { bearer, call, chatBody } from 'test/e2e/support/admin-client';
import { startOidcProvider, TestOidcProvider } from 'test/e2e/support/oidc-provider';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

jest.setTimeout(60_000);

const header = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as { kid: string; alg: string };
const claims = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;

describe('OAuth2 client-credentials tokens from a real OpenID provider (oidc-provider)', () => {
  let mock: OpenAIMock;
  let idp: TestOidcProvider;
  let gateway: TestGateway;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    idp = await startOidcProvider({ roles: ['developer'] });
    gateway = await startGateway(`endpoints:\n${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}`, {
      env: {
        AUTH_OIDC_ISSUER: idp.issuer,
        AUTH_JWT_AUDIENCE: idp.audience,
        AUTH_JWT_PRINCIPAL_CLAIM: 'client_id',
        AUTH_JWT_AUTO_PROVISION: 'true',
        AUTH_JWT_DEFAULT_TEAM: 'partners',
        AUTH_JWT_DEFAULT_ROLE: 'viewer',
      },
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await idp?.close();
    await mock?.close();
  });

  it('auto-provisions the client into the default team with the default role plus its token roles', async () => {
    const token = await idp.token();
    expect(claims(token)).toMatchObject({ iss: idp.issuer, aud: idp.audience, client_id: idp.clientId });
    const me = await call(gateway.url, 'GET', '/admin/v1/me', bearer(token));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'service', name: idp.clientId, apiKeyId: null });
    expect([...me.body.roles].sort()).toEqual(['developer', 'viewer']);
    expect(me.body.permissions).toContain('inference.invoke');

    const principals = await call(gateway.url, 'GET', '/admin/v1/principals', gateway.authHeaders());
    const provisioned = principals.body.filter((p: { subject: string }) => p.subject === idp.clientId);
    expect(provisioned).toHaveLength(1);
    expect(provisioned[0]).toMatchObject({ issuer: idp.issuer, roles: ['viewer'], teamId: me.body.teamId });
    const teams = await call(gateway.url, 'GET', '/admin/v1/teams', gateway.authHeaders());
    expect(teams.body.find((t: { id: string }) => t.id === me.body.teamId).name).toBe('partners');

    // A second token for the same client maps to the same principal (no duplicate).
    const again = await call(gateway.url, 'GET', '/admin/v1/me', bearer(await idp.token()));
    expect(again.body.id).toBe(me.body.id);
  });

  it('calls the OpenAI surface with the access token once the team is granted the endpoint', async () => {
    const token = await idp.token();
    const me = await call(gateway.url, 'GET', '/admin/v1/me', bearer(token));
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token, maxRetries: 0 });
    await expect(client.chat.completions.create(chatBody('chat') as never)).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
    const grant = await call(gateway.url, 'POST', '/admin/v1/grants', gateway.authHeaders(), {
      teamId: me.body.teamId,
      endpointPattern: 'chat',
    });
    expect(grant.status).toBe(201);
    const completion = (await client.chat.completions.create(
      chatBody('chat') as never,
    )) as OpenAI.ChatCompletion;
    expect(completion.choices[0].message.content).toBe('echo: hello auth');
  });

  it('keeps working across a signing-key rotation at the provider', async () => {
    const before = await idp.token();
    expect(header(before).kid).toBe('key-1');
    expect((await call(gateway.url, 'GET', '/admin/v1/me', bearer(before))).status).toBe(200);

    expect(await idp.rotateKeys()).toBe('key-2');
    const after = await idp.token();
    expect(header(after).kid).toBe('key-2');
    // Unknown kid → one JWKS refetch → verified with the new key; the old token still verifies.
    expect((await call(gateway.url, 'GET', '/admin/v1/me', bearer(after))).status).toBe(200);
    expect((await call(gateway.url, 'GET', '/admin/v1/me', bearer(before))).status).toBe(200);
  });

  it('rejects a token minted for another audience at the same provider', async () => {
    const token = await idp.token();
    const other = await startGateway('endpoints: []\n', {
      env: {
        AUTH_OIDC_ISSUER: idp.issuer,
        AUTH_JWT_AUDIENCE: 'https://someone-else',
        AUTH_JWT_AUTO_PROVISION: 'true',
      },
    });
    try {
      const response = await call(other.url, 'GET', '/admin/v1/me', bearer(token));
      expect([response.status, response.body.code]).toEqual([401, 'invalid_token']);
      expect(response.body.message).toContain('audience');
    } finally {
      await other.close();
    }
  });

  it('without auto-provisioning, only registered principals get in, with their registered roles', async () => {
    const strict = await startGateway('endpoints: []\n', {
      env: {
        AUTH_OIDC_ISSUER: idp.issuer,
        AUTH_JWT_AUDIENCE: idp.audience,
        AUTH_JWT_PRINCIPAL_CLAIM: 'client_id',
      },
    });
    try {
      const token = await idp.token();
      const unknown = await call(strict.url, 'GET', '/admin/v1/me', bearer(token));
      expect([unknown.status, unknown.body.code]).toEqual([403, 'permission_denied']);
      const registered = await call(strict.url, 'POST', '/admin/v1/principals', strict.authHeaders(), {
        kind: 'service',
        name: 'billing-app',
        roles: ['operator'],
        issuer: idp.issuer,
        subject: idp.clientId,
      });
      expect(registered.status).toBe(201);
      const me = await call(strict.url, 'GET', '/admin/v1/me', bearer(token));
      expect(me.body).toMatchObject({ id: registered.body.id, name: 'billing-app' });
      expect([...me.body.roles].sort()).toEqual(['developer', 'operator']);
    } finally {
      await strict.close();
    }
  });
});
