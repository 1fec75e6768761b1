import { randomBytes } from 'node:crypto';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { bearer, call, chatBody } from 'test/e2e/support/admin-client';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { Listener, member, openaiEntry, startListener } from 'test/e2e/security/support';

jest.setTimeout(120_000);

/**
 * Configuration made through the admin API holds secrets only as `$secret:NAME` its team may use; it
 * never reads the process environment, and the gateway's own credentials resolve from no config.
 */
describe('secrets by reference only', () => {
  let adminKey: string;
  const masterKey = randomBytes(32).toString('base64');
  let mock: OpenAIMock;
  let listener: Listener;
  let gw: TestGateway;
  let opA: Awaited<ReturnType<typeof member>>;
  let opB: Awaited<ReturnType<typeof member>>;
  const saved = { ...process.env };

  beforeAll(async () => {
    mock = await startOpenAIMock();
    listener = await startListener();
    gw = await startGateway('endpoints: []\n', { env: { GATEHOUSE_MASTER_KEY: masterKey } });
    // As in production, the gateway's credentials are in its process environment.
    adminKey = gw.apiKey;
    process.env.GATEHOUSE_ADMIN_API_KEY = adminKey;
    process.env.GATEHOUSE_MASTER_KEY = masterKey;
    process.env.HARMLESS_LOOKING_VAR = 'some-value-from-the-environment';
    opA = await member(gw, 'team-a', ['operator']);
    opB = await member(gw, 'team-b', ['operator']);
    const admin = gw.authHeaders();
    for (const [name, owner] of [
      ['team-a-openai', opA.teamId],
      ['team-b-openai', opB.teamId],
    ]) {
      const put = await call(gw.url, 'PUT', `/admin/v1/secrets/${name}`, admin, {
        value: MOCK_API_KEY,
        ownerTeamId: owner,
      });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ ownerTeamId: owner, allowedTeamIds: [] });
    }
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([mock?.close(), listener?.close()]);
    process.env = saved;
  });

  it('refuses every $ENV reference from the admin API with a 400, and nothing leaves the gateway', async () => {
    for (const reference of [
      '$GATEHOUSE_ADMIN_API_KEY',
      '$GATEHOUSE_MASTER_KEY',
      '$DATABASE_URL',
      '$HARMLESS_LOOKING_VAR',
    ]) {
      for (const headers of [bearer(opA.key), gw.authHeaders()]) {
        const created = await call(
          gw.url,
          'POST',
          '/admin/v1/endpoints',
          headers,
          openaiEntry('exfil', reference, `${listener.url}/v1`),
        );
        expect(created.status).toBe(400);
        expect(created.body.message).toContain('cannot read environment variables');
        expect(created.body.message).toContain("'$secret:NAME'");
        expect(JSON.stringify(created.body)).not.toContain(adminKey);
      }
    }
    const chat = await call(gw.url, 'POST', '/v1/chat/completions', bearer(opA.key), chatBody('exfil'));
    expect(chat.status).toBe(404);
    expect(listener.hits).toHaveLength(0);
  });

  it('lets a team use only its own secrets or those shared with it (403 otherwise)', async () => {
    const foreign = await call(
      gw.url,
      'POST',
      '/admin/v1/endpoints',
      bearer(opA.key),
      openaiEntry('a-steals', '$secret:team-b-openai', `${listener.url}/v1`),
    );
    expect(foreign.status).toBe(403);
    expect(foreign.body.message).toContain("may not use the secret 'team-b-openai'");
    const missing = await call(
      gw.url,
      'POST',
      '/admin/v1/endpoints',
      bearer(opA.key),
      openaiEntry('a-missing', '$secret:no-such-secret', `${mock.url}/v1`),
    );
    expect([missing.status, missing.body.message]).toEqual([
      400,
      "model.config.openai_api_key: there is no stored secret 'no-such-secret'.",
    ]);

    const own = await call(
      gw.url,
      'POST',
      '/admin/v1/endpoints',
      bearer(opA.key),
      openaiEntry('a-chat', '$secret:team-a-openai', `${mock.url}/v1`),
    );
    expect(own.status).toBe(201);
    const before = mock.requests.length;
    // (Invoked with the admin key: the endpoint's grants are not what this test is about.)
    const chat = await call(gw.url, 'POST', '/v1/chat/completions', gw.authHeaders(), chatBody('a-chat'));
    expect(chat.status).toBe(200);
    expect(mock.requests.slice(before).map((r) => r.headers.authorization)).toEqual([
      `Bearer ${MOCK_API_KEY}`,
    ]);

    // The owner (an admin here) shares team B's secret with team A: now A may reference it.
    const share = await call(gw.url, 'PUT', '/admin/v1/secrets/team-b-openai', gw.authHeaders(), {
      value: MOCK_API_KEY,
      allowedTeamIds: [opA.teamId],
    });
    expect(share.status).toBe(200);
    expect(share.body).toMatchObject({ ownerTeamId: opB.teamId, allowedTeamIds: [opA.teamId] });
    const shared = await call(
      gw.url,
      'POST',
      '/admin/v1/endpoints',
      bearer(opA.key),
      openaiEntry('a-shared', '$secret:team-b-openai', `${mock.url}/v1`),
    );
    expect(shared.status).toBe(201);
    expect(listener.hits).toHaveLength(0);
  });

  it("needs secrets.write on an entry's secret to change its upstream host or credentials", async () => {
    const repoint = await call(
      gw.url,
      'PUT',
      '/admin/v1/endpoints/a-chat',
      bearer(opA.key),
      openaiEntry('a-chat', '$secret:team-a-openai', `${listener.url}/v1`),
    );
    expect(repoint.status).toBe(403);
    expect(repoint.body.message).toContain("needs secrets.write on the secret 'team-a-openai'");
    // Operator B cannot take over team A's entry by swapping in its own credentials either.
    const swap = await call(
      gw.url,
      'PUT',
      '/admin/v1/endpoints/a-chat',
      bearer(opA.key),
      openaiEntry('a-chat', '$secret:team-b-openai', `${mock.url}/v1`),
    );
    expect(swap.status).toBe(403);
    // A change that keeps host and credentials (the model) needs no more than routing.write.
    const model = await call(
      gw.url,
      'PUT',
      '/admin/v1/endpoints/a-chat',
      bearer(opA.key),
      openaiEntry('a-chat', '$secret:team-a-openai', `${mock.url}/v1`, 'gpt-4o'),
    );
    expect(model.status).toBe(200);
    // An admin holds secrets.write on every secret.
    const byAdmin = await call(
      gw.url,
      'PUT',
      '/admin/v1/endpoints/a-chat',
      gw.authHeaders(),
      openaiEntry('a-chat', '$secret:team-a-openai', `${mock.url}/v1/`),
    );
    expect(byAdmin.status).toBe(200);
    expect(listener.hits).toHaveLength(0);
  });

  it('keeps the secrets list per team: names and owners only, never values', async () => {
    const admin = await call(gw.url, 'GET', '/admin/v1/secrets', gw.authHeaders());
    expect(admin.status).toBe(200);
    expect(admin.body.map((s: { name: string }) => s.name)).toEqual(['team-a-openai', 'team-b-openai']);
    expect(JSON.stringify(admin.body)).not.toContain(MOCK_API_KEY);
  });
});

describe("gateway.yaml keeps $VAR, but never the gateway's own credentials", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = saved;
  });

  it('refuses to boot with $GATEHOUSE_ADMIN_API_KEY, $DATABASE_URL or a copy of the admin key', async () => {
    const adminKey = `gh_admin_${randomBytes(24).toString('hex')}`;
    process.env.GATEHOUSE_ADMIN_API_KEY = adminKey;
    process.env.DATABASE_URL = 'postgres://root@127.0.0.1:5432/postgres';
    process.env.ADMIN_KEY_COPY = adminKey;
    process.env.PLAIN_PROVIDER_KEY = MOCK_API_KEY;
    const yaml = (reference: string) => `
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: ${reference}
        openai_api_base: http://127.0.0.1:9/v1
`;
    for (const reference of ['$GATEHOUSE_ADMIN_API_KEY', '$DATABASE_URL', '$ADMIN_KEY_COPY']) {
      const boot = startGateway(yaml(reference), { env: { GATEHOUSE_ADMIN_API_KEY: adminKey } });
      await expect(boot).rejects.toThrow(`Environment variable '${reference.slice(1)}'`);
    }
    const ok = await startGateway(yaml('$PLAIN_PROVIDER_KEY'), {
      env: { GATEHOUSE_ADMIN_API_KEY: adminKey },
    });
    await ok.close();
  });
});
