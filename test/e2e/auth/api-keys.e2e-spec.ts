import OpenAI from 'openai';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { bearer, call, chatBody } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

jest.setTimeout(60_000);

describe('API keys, teams, roles and grants (PostgreSQL)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let admin: Record<string, string>;
  const api = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    call(gateway.url, method, path, headers, body);

  /** A team, a principal with the given roles in it, and a key for that principal. */
  async function member(team: string, roles: string[]) {
    const teamRes = await api('POST', '/admin/v1/teams', admin, { name: team });
    const teamId =
      teamRes.status === 201
        ? teamRes.body.id
        : (await api('GET', '/admin/v1/teams', admin)).body.find((t: { name: string }) => t.name === team).id;
    const principal = await api('POST', '/admin/v1/principals', admin, {
      kind: 'user',
      name: `${team}-${roles.join('+')}`,
      teamId,
      roles,
    });
    expect(principal.status).toBe(201);
    const key = await api('POST', '/admin/v1/keys', admin, { name: 'k', principalId: principal.body.id });
    expect(key.status).toBe(201);
    return {
      teamId,
      principalId: principal.body.id as string,
      key: key.body.key as string,
      keyId: key.body.id,
    };
  }

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('team-a-chat', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('secret-chat', 'gpt-4o', mock.url)}
${openaiEndpoint('champion', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('challenger', 'gpt-4o', mock.url)}
routes:
  - name: ab
    task_type: llm/v1/chat
    destinations:
      - name: champion
        traffic_percentage: 50
      - name: challenger
        traffic_percentage: 50
`);
    admin = gateway.authHeaders();
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  describe('default-deny', () => {
    it('answers 401 with WWW-Authenticate in each surface envelope when no credential is sent', async () => {
      const openai = await api('POST', '/v1/chat/completions', {}, chatBody('chat'));
      expect(openai.status).toBe(401);
      expect(openai.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');
      expect(openai.body.error).toMatchObject({ code: 'missing_credentials', type: 'invalid_request_error' });

      const mlflow = await api('GET', '/api/2.0/endpoints/', {});
      expect(mlflow.status).toBe(401);
      expect(Object.keys(mlflow.body)).toEqual(['detail']);

      const adminApi = await api('GET', '/admin/v1/teams', {});
      expect(adminApi.status).toBe(401);
      expect(adminApi.body).toMatchObject({ statusCode: 401, code: 'missing_credentials' });
      expect(adminApi.body.requestId).toBe(adminApi.headers.get('x-request-id'));
    });

    it('keeps health probes and API docs public', async () => {
      for (const path of ['/health', '/health/live', '/health/ready', '/openapi.json', '/docs']) {
        expect([path, (await fetch(`${gateway.url}${path}`)).status]).toEqual([path, 200]);
      }
    });

    it('accepts the key as Bearer, as x-api-key and as the Basic password; refuses it in the query', async () => {
      const basic = `Basic ${Buffer.from(`mlflow:${gateway.apiKey}`).toString('base64')}`;
      for (const headers of [admin, { 'x-api-key': gateway.apiKey }, { authorization: basic }]) {
        expect((await api('GET', '/admin/v1/me', headers)).body.name).toBe('bootstrap-admin');
      }
      const inQuery = await api('GET', `/v1/models?api_key=${gateway.apiKey}`, {});
      expect(inQuery.status).toBe(400);
      expect(JSON.stringify(inQuery.body)).not.toContain(gateway.apiKey);
    });

    it('rejects a wrong key with invalid_api_key and never echoes it', async () => {
      const wrong = `${gateway.apiKey.slice(0, -1)}${gateway.apiKey.endsWith('0') ? '1' : '0'}`;
      const response = await api('POST', '/v1/chat/completions', bearer(wrong), chatBody('chat'));
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('invalid_api_key');
      expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(JSON.stringify(response.body)).not.toContain(wrong);
      const malformed = await api('GET', '/v1/models', { authorization: 'Token abc' });
      expect([malformed.status, malformed.body.error.code]).toEqual([401, 'invalid_api_key']);
    });
  });

  describe('roles and data-plane grants', () => {
    it('gives a viewer read access but 403 on inference and admin writes', async () => {
      const viewer = await member('viewers', ['viewer']);
      expect((await api('GET', '/v1/models', bearer(viewer.key))).status).toBe(200);
      const invoke = await api('POST', '/v1/chat/completions', bearer(viewer.key), chatBody('chat'));
      expect(invoke.status).toBe(403);
      expect(invoke.body.error).toMatchObject({ code: 'permission_denied', type: 'permission_error' });
      expect(invoke.body.error.message).toContain('inference.invoke');
      const write = await api('POST', '/admin/v1/teams', bearer(viewer.key), { name: 'nope' });
      expect([write.status, write.body.code]).toEqual([403, 'permission_denied']);
    });

    it('lets a developer call only the endpoints granted to their team', async () => {
      const dev = await member('team-a', ['developer']);
      const before = mock.requests.length;
      const denied = await api('POST', '/v1/chat/completions', bearer(dev.key), chatBody('team-a-chat'));
      expect(denied.status).toBe(403);
      expect(mock.requests.length).toBe(before);

      const grant = await api('POST', '/admin/v1/grants', admin, {
        teamId: dev.teamId,
        endpointPattern: 'team-a-*',
      });
      expect(grant.status).toBe(201);
      const allowed = await api('POST', '/v1/chat/completions', bearer(dev.key), chatBody('team-a-chat'));
      expect(allowed.status).toBe(200);
      expect(allowed.body.choices[0].message.content).toBe('echo: hello auth');
      expect(mock.requests.length).toBe(before + 1);
      const other = await api('POST', '/v1/chat/completions', bearer(dev.key), chatBody('secret-chat'));
      expect(other.status).toBe(403);

      // MLflow surface, same rule, MLflow envelope.
      const mlflow = await api('POST', '/gateway/secret-chat/invocations', bearer(dev.key), {
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(mlflow.status).toBe(403);
      expect(Object.keys(mlflow.body)).toEqual(['detail']);

      // Listings show only what the caller may call; the rest answers 404 like an unknown endpoint.
      const models = await api('GET', '/v1/models', bearer(dev.key));
      expect(models.body.data.map((m: { id: string }) => m.id)).toEqual(['team-a-chat']);
      const endpoints = await api('GET', '/api/2.0/endpoints/', bearer(dev.key));
      expect(endpoints.body.endpoints.map((e: { name: string }) => e.name)).toEqual(['team-a-chat']);
      expect((await api('GET', '/api/2.0/endpoints/secret-chat', bearer(dev.key))).status).toBe(404);
      expect((await api('GET', '/api/2.0/endpoints/team-a-chat', bearer(dev.key))).status).toBe(200);
      const adminModels = await api('GET', '/v1/models', admin);
      expect(adminModels.body.data.map((m: { id: string }) => m.id)).toEqual([
        'chat',
        'team-a-chat',
        'secret-chat',
        'champion',
        'challenger',
        'ab',
      ]);

      expect((await api('DELETE', `/admin/v1/grants/${grant.body.id}`, admin)).status).toBe(204);
      expect(
        (await api('POST', '/v1/chat/completions', bearer(dev.key), chatBody('team-a-chat'))).status,
      ).toBe(403);
    });

    it('lets only the granted team reach the challenger behind a traffic split', async () => {
      const restricted = await member('champion-only', ['developer']);
      const trusted = await member('challenger-testers', ['developer']);
      const g = await api('POST', '/admin/v1/grants', admin, {
        teamId: restricted.teamId,
        endpointPattern: 'ab',
        destinations: ['champion'],
      });
      expect(g.body.destinations).toEqual(['champion']);
      await api('POST', '/admin/v1/grants', admin, { teamId: trusted.teamId, endpointPattern: 'ab' });
      const reached = async (key: string, times: number) => {
        const seen: Record<string, number> = {};
        for (let i = 0; i < times; i++) {
          const response = await api('POST', '/v1/chat/completions', bearer(key), chatBody('ab'));
          expect(response.status).toBe(200);
          const endpoint = response.headers.get('x-gatehouse-endpoint')!;
          seen[endpoint] = (seen[endpoint] ?? 0) + 1;
        }
        return seen;
      };
      expect(await reached(restricted.key, 20)).toEqual({ champion: 20 });
      const both = await reached(trusted.key, 40);
      expect(Object.keys(both).sort()).toEqual(['challenger', 'champion']);
      expect(both.champion + both.challenger).toBe(40);
      // The restricted team cannot call the challenger directly either.
      expect(
        (await api('POST', '/v1/chat/completions', bearer(restricted.key), chatBody('challenger'))).status,
      ).toBe(403);
    });

    it('works through the openai SDK with a minted key', async () => {
      const dev = await member('sdk-team', ['developer']);
      await api('POST', '/admin/v1/grants', admin, { principalId: dev.principalId, endpointPattern: 'chat' });
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: dev.key, maxRetries: 0 });
      const completion = await client.chat.completions.create(chatBody('chat') as never);
      expect((completion as OpenAI.ChatCompletion).choices[0].message.content).toBe('echo: hello auth');
      const bad = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'gh_nope', maxRetries: 0 });
      await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    });
  });

  describe('API key lifecycle', () => {
    it('shows the key once, stores only a prefix, and scopes it to endpoints and permissions', async () => {
      const dev = await member('scoped', ['developer']);
      await api('POST', '/admin/v1/grants', admin, { teamId: dev.teamId, endpointPattern: '*' });
      const scoped = await api('POST', '/admin/v1/keys', bearer(dev.key), {
        name: 'only chat',
        endpoints: ['chat'],
        permissions: ['inference.invoke'],
      });
      expect(scoped.status).toBe(201);
      expect(scoped.body.key).toMatch(/^gh_[A-Za-z0-9_-]{43}$/);
      expect(scoped.body.prefix).toBe(`${scoped.body.key.slice(0, 11)}…`);
      const listed = await api('GET', '/admin/v1/keys', bearer(dev.key));
      expect(listed.body.map((k: { id: string }) => k.id).sort()).toEqual([dev.keyId, scoped.body.id].sort());
      expect(JSON.stringify(listed.body)).not.toContain(scoped.body.key);
      expect(JSON.stringify(listed.body)).not.toMatch(/[0-9a-f]{64}/);

      const key = bearer(scoped.body.key);
      expect((await api('POST', '/v1/chat/completions', key, chatBody('chat'))).status).toBe(200);
      expect((await api('POST', '/v1/chat/completions', key, chatBody('team-a-chat'))).status).toBe(403);
      // endpoints.read is outside the key's permissions even though its owner has it.
      expect((await api('GET', '/v1/models', key)).status).toBe(403);
    });

    it('refuses an expired key', async () => {
      const dev = await member('expiring', ['developer']);
      const short = await api('POST', '/admin/v1/keys', bearer(dev.key), {
        name: 'short',
        expiresInSeconds: 60,
      });
      expect(short.body.expiresAt).toBeDefined();
      expect((await api('GET', '/admin/v1/me', bearer(short.body.key))).status).toBe(200);
      const tooShort = await api('POST', '/admin/v1/keys', bearer(dev.key), {
        name: 'x',
        expiresInSeconds: 1,
      });
      expect(tooShort.status).toBe(400);
      const rotated = await api('POST', `/admin/v1/keys/${short.body.id}/rotate`, bearer(dev.key), {
        graceSeconds: 0,
      });
      expect(rotated.status).toBe(200);
      expect((await api('GET', '/admin/v1/me', bearer(short.body.key))).status).toBe(401);
      expect((await api('GET', '/admin/v1/me', bearer(rotated.body.key))).status).toBe(200);
    });

    it('rotates with a grace period and revokes at once', async () => {
      const dev = await member('rotating', ['developer']);
      const rotated = await api('POST', `/admin/v1/keys/${dev.keyId}/rotate`, bearer(dev.key), {
        graceSeconds: 300,
      });
      expect(rotated.status).toBe(200);
      expect(rotated.body.key).not.toBe(dev.key);
      expect((await api('GET', '/admin/v1/me', bearer(dev.key))).status).toBe(200);
      expect((await api('GET', '/admin/v1/me', bearer(rotated.body.key))).status).toBe(200);

      const revoked = await api('POST', `/admin/v1/keys/${rotated.body.id}/revoke`, bearer(rotated.body.key));
      expect(revoked.status).toBe(200);
      expect(revoked.body.revokedAt).not.toBeNull();
      const after = await api('GET', '/admin/v1/me', bearer(rotated.body.key));
      expect([after.status, after.body.code]).toEqual([401, 'invalid_api_key']);
    });

    it("lets an operator manage their team's keys, but not those of a more privileged member", async () => {
      const operator = await member('ops-team', ['operator']);
      const dev = await member('ops-team', ['developer']);
      const boss = await member('ops-team', ['admin']);
      const forDev = await api('POST', '/admin/v1/keys', bearer(operator.key), {
        name: 'd',
        principalId: dev.principalId,
      });
      expect(forDev.status).toBe(201);
      expect((await api('GET', '/admin/v1/me', bearer(forDev.body.key))).body.id).toBe(dev.principalId);
      const forBoss = await api('POST', '/admin/v1/keys', bearer(operator.key), {
        name: 'b',
        principalId: boss.principalId,
      });
      expect([forBoss.status, forBoss.body.code]).toEqual([403, 'permission_denied']);
      expect(
        (await api('POST', `/admin/v1/keys/${boss.keyId}/rotate`, bearer(operator.key), {})).status,
      ).toBe(403);
      expect((await api('POST', `/admin/v1/keys/${boss.keyId}/revoke`, bearer(operator.key))).status).toBe(
        403,
      );
      expect((await api('GET', '/admin/v1/me', bearer(boss.key))).status).toBe(200);
      // A developer cannot mint for a teammate at all.
      const byDev = await api('POST', '/admin/v1/keys', bearer(dev.key), {
        name: 'x',
        principalId: operator.principalId,
      });
      expect(byDev.status).toBe(403);
    });

    it("answers 404 for another team's keys, principals and audit entries", async () => {
      const a = await member('tenant-a', ['operator']);
      const b = await member('tenant-b', ['operator']);
      for (const path of [
        `/admin/v1/keys/${b.keyId}`,
        `/admin/v1/principals/${b.principalId}`,
        `/admin/v1/teams/${b.teamId}`,
      ]) {
        const response = await api('GET', path, bearer(a.key));
        expect([path, response.status, response.body.code]).toEqual([path, 404, 'object_not_found']);
      }
      expect((await api('POST', `/admin/v1/keys/${b.keyId}/revoke`, bearer(a.key))).status).toBe(404);
      expect((await api('GET', `/admin/v1/keys/${a.keyId}`, bearer(a.key))).status).toBe(200);
      const keys = await api('GET', '/admin/v1/keys', bearer(a.key));
      expect(keys.body.map((k: { principalId: string }) => k.principalId)).toEqual([a.principalId]);
      const audit = await api('GET', '/admin/v1/audit?limit=500', bearer(a.key));
      expect(audit.status).toBe(200);
      expect(audit.body.entries.length).toBeGreaterThan(0);
      expect(audit.body.entries.every((e: { teamId: string }) => e.teamId === a.teamId)).toBe(true);
      const foreign = await api('GET', `/admin/v1/audit?teamId=${b.teamId}`, bearer(a.key));
      expect(foreign.body.entries).toEqual([]);
    });
  });

  describe('admin CRUD, validation and audit', () => {
    it('manages teams and role assignments, auditing before/after', async () => {
      const team = await api('POST', '/admin/v1/teams', admin, { name: 'crud-team', description: 'd1' });
      expect(team.status).toBe(201);
      expect((await api('POST', '/admin/v1/teams', admin, { name: 'crud-team' })).status).toBe(409);
      const patched = await api('PATCH', `/admin/v1/teams/${team.body.id}`, admin, { description: 'd2' });
      expect(patched.body.description).toBe('d2');
      const p = await api('POST', '/admin/v1/principals', admin, {
        kind: 'service',
        name: 'svc',
        teamId: team.body.id,
        roles: ['viewer'],
      });
      const roles = await api('PUT', `/admin/v1/principals/${p.body.id}/roles`, admin, {
        roles: ['developer'],
      });
      expect(roles.body.roles).toEqual(['developer']);
      expect((await api('DELETE', `/admin/v1/teams/${team.body.id}`, admin)).status).toBe(409);

      const audit = await api(
        'GET',
        `/admin/v1/audit?targetId=${p.body.id}&action=principal.roles.set`,
        admin,
      );
      expect(audit.body.entries).toHaveLength(1);
      expect(audit.body.entries[0]).toMatchObject({
        action: 'principal.roles.set',
        outcome: 'success',
        actorName: 'bootstrap-admin',
        targetType: 'principal',
        before: { roles: ['viewer'] },
        after: { roles: ['developer'] },
      });
      expect(audit.body.entries[0].requestId).toBe(roles.headers.get('x-request-id'));
    });

    it('validates admin bodies strictly and never leaks the driver', async () => {
      const unknown = await api('POST', '/admin/v1/teams', admin, { name: 'x', isAdmin: true });
      expect([unknown.status, unknown.body.code]).toEqual([400, 'invalid_request']);
      expect(unknown.body.message).toContain('isAdmin');
      const role = await api('POST', '/admin/v1/principals', admin, {
        kind: 'user',
        name: 'x',
        roles: ['root'],
      });
      expect(role.status).toBe(400);
      const badId = await api('GET', '/admin/v1/principals/not-a-uuid', admin);
      expect(badId.status).toBe(400);
      const missingTeam = await api('POST', '/admin/v1/principals', admin, {
        kind: 'user',
        name: 'x',
        teamId: '00000000-0000-4000-8000-000000000000',
      });
      expect([missingTeam.status, missingTeam.body.code]).toEqual([404, 'object_not_found']);
    });

    it('records access denials in the audit log', async () => {
      const viewer = await member('denied-team', ['viewer']);
      const denied = await api('POST', '/v1/chat/completions', bearer(viewer.key), chatBody('chat'));
      expect(denied.status).toBe(403);
      const requestId = denied.headers.get('x-request-id')!;
      let entries: { outcome: string; action: string; actorId: string; targetId: string }[] = [];
      for (let i = 0; i < 50 && entries.length === 0; i++) {
        entries = (await api('GET', `/admin/v1/audit?requestId=${requestId}`, admin)).body.entries;
        if (entries.length === 0) await new Promise((r) => setTimeout(r, 20));
      }
      expect(entries).toEqual([
        expect.objectContaining({
          outcome: 'denied',
          action: 'auth.authorize',
          actorId: viewer.principalId,
          targetId: 'inference.invoke',
        }),
      ]);
    });
  });

  describe('subscription approval', () => {
    it('keeps a request pending until an admin approves it, which grants access', async () => {
      const dev = await member('subscribers', ['developer']);
      expect(
        (await api('POST', '/v1/chat/completions', bearer(dev.key), chatBody('secret-chat'))).status,
      ).toBe(403);
      const asked = await api('POST', '/admin/v1/subscriptions', bearer(dev.key), {
        endpointPattern: 'secret-chat',
        reason: 'quarterly report',
      });
      expect(asked.status).toBe(201);
      expect(asked.body.status).toBe('pending');
      expect(
        (await api('POST', '/v1/chat/completions', bearer(dev.key), chatBody('secret-chat'))).status,
      ).toBe(403);
      // A developer cannot approve their own request.
      expect(
        (await api('POST', `/admin/v1/subscriptions/${asked.body.id}/approve`, bearer(dev.key), {})).status,
      ).toBe(403);
      const pending = await api('GET', '/admin/v1/subscriptions?status=pending', admin);
      expect(pending.body.map((s: { id: string }) => s.id)).toContain(asked.body.id);

      const approved = await api('POST', `/admin/v1/subscriptions/${asked.body.id}/approve`, admin, {
        note: 'ok',
      });
      expect(approved.status).toBe(200);
      expect(approved.body).toMatchObject({ status: 'approved', decisionNote: 'ok' });
      expect(approved.body.grantId).toEqual(expect.any(String));
      expect(
        (await api('POST', '/v1/chat/completions', bearer(dev.key), chatBody('secret-chat'))).status,
      ).toBe(200);
      const again = await api('POST', `/admin/v1/subscriptions/${asked.body.id}/reject`, admin, {});
      expect([again.status, again.body.code]).toEqual([409, 'conflict']);

      const trail = await api('GET', `/admin/v1/audit?targetId=${asked.body.id}`, admin);
      expect(trail.body.entries.map((e: { action: string }) => e.action)).toEqual([
        'subscription.approve',
        'subscription.request',
      ]);
    });

    it('rejects without granting', async () => {
      const dev = await member('rejected-team', ['developer']);
      const asked = await api('POST', '/admin/v1/subscriptions', bearer(dev.key), {
        endpointPattern: 'secret-chat',
      });
      const rejected = await api('POST', `/admin/v1/subscriptions/${asked.body.id}/reject`, admin, {
        note: 'no',
      });
      expect(rejected.body).toMatchObject({ status: 'rejected', grantId: null });
      expect(
        (await api('POST', '/v1/chat/completions', bearer(dev.key), chatBody('secret-chat'))).status,
      ).toBe(403);
    });
  });
});
