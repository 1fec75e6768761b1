import { OpenAIMock, MOCK_API_KEY, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { bearer, call, chatBody } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { member } from 'test/e2e/security/support';

jest.setTimeout(90_000);

/** A key minted with an API key is a subset of it; a scoped key manages only itself. */
describe('keys derived from a key are subsets of it', () => {
  let mock: OpenAIMock;
  let gw: TestGateway;
  let dev: Awaited<ReturnType<typeof member>>;
  let limited: { id: string; key: string; expiresAt: string };
  const saved = process.env.MOCK_OPENAI_KEY;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gw = await startGateway(
      `endpoints:\n${openaiEndpoint('chat-a', 'gpt-a', mock.url)}${openaiEndpoint('chat-b', 'gpt-b', mock.url)}`,
    );
    dev = await member(gw, 'ci', ['developer']);
    // The developer's team may call both endpoints.
    const grant = await call(gw.url, 'POST', '/admin/v1/grants', gw.authHeaders(), {
      teamId: dev.teamId,
      endpointPattern: 'chat-*',
    });
    expect(grant.status).toBe(201);
    const created = await call(gw.url, 'POST', '/admin/v1/keys', bearer(dev.key), {
      name: 'ci-limited',
      endpoints: ['chat-a'],
      expiresInSeconds: 120,
    });
    expect(created.status).toBe(201);
    limited = created.body;
  });

  afterAll(async () => {
    await gw?.close();
    await mock?.close();
    process.env.MOCK_OPENAI_KEY = saved;
  });

  it('a scoped, expiring key mints only keys within its scope that expire no later', async () => {
    const escape = await call(gw.url, 'POST', '/admin/v1/keys', bearer(limited.key), { name: 'escape' });
    expect(escape.status).toBe(201);
    // Nothing asked for: the new key inherits the parent's endpoints and expiry (never "all, forever").
    expect(escape.body.endpoints).toEqual(['chat-a']);
    expect(escape.body.expiresAt).toBe(limited.expiresAt);
    const chatB = await call(
      gw.url,
      'POST',
      '/v1/chat/completions',
      bearer(escape.body.key),
      chatBody('chat-b'),
    );
    expect(chatB.status).toBe(403);
    const chatA = await call(
      gw.url,
      'POST',
      '/v1/chat/completions',
      bearer(escape.body.key),
      chatBody('chat-a'),
    );
    expect(chatA.status).toBe(200);

    const wider = await call(gw.url, 'POST', '/admin/v1/keys', bearer(limited.key), {
      name: 'wider',
      endpoints: ['chat-*'],
    });
    expect(wider.status).toBe(403);
    expect(wider.body.message).toContain('chat-*');
    const later = await call(gw.url, 'POST', '/admin/v1/keys', bearer(limited.key), {
      name: 'later',
      expiresInSeconds: 3600,
    });
    expect(later.status).toBe(403);
    expect(later.body.message).toContain('expire no later');
    const morePermissions = await call(gw.url, 'POST', '/admin/v1/keys', bearer(limited.key), {
      name: 'more',
      permissions: ['keys.write'],
    });
    expect(morePermissions.status).toBe(403);
    const narrower = await call(gw.url, 'POST', '/admin/v1/keys', bearer(limited.key), {
      name: 'narrower',
      permissions: ['inference.invoke'],
      expiresInSeconds: 60,
    });
    expect(narrower.status).toBe(201);
    expect(narrower.body.endpoints).toEqual(['chat-a']);
    expect(Date.parse(narrower.body.expiresAt)).toBeLessThanOrEqual(Date.parse(limited.expiresAt));
  });

  it('a key limited by permissions cannot mint one with the permissions it lacks', async () => {
    const inferenceOnly = await call(gw.url, 'POST', '/admin/v1/keys', bearer(dev.key), {
      name: 'inference-only',
      permissions: ['inference.invoke', 'keys.self'],
    });
    expect(inferenceOnly.status).toBe(201);
    const child = await call(gw.url, 'POST', '/admin/v1/keys', bearer(inferenceOnly.body.key), {
      name: 'child',
    });
    expect(child.status).toBe(201);
    expect([...child.body.permissions].sort()).toEqual(['inference.invoke', 'keys.self']);
    const read = await call(gw.url, 'POST', '/admin/v1/keys', bearer(inferenceOnly.body.key), {
      name: 'reader',
      permissions: ['endpoints.read'],
    });
    expect(read.status).toBe(403);
  });

  it('a scoped key manages only itself; its rotation keeps its scope and expiry', async () => {
    // It sees only itself, and cannot revoke or rotate its principal's unscoped key.
    const list = await call(gw.url, 'GET', '/admin/v1/keys', bearer(limited.key));
    expect(list.body.map((k: { id: string }) => k.id)).toEqual([limited.id]);
    const revokeOther = await call(gw.url, 'POST', `/admin/v1/keys/${dev.keyId}/revoke`, bearer(limited.key));
    expect(revokeOther.status).toBe(404);
    const rotateOther = await call(
      gw.url,
      'POST',
      `/admin/v1/keys/${dev.keyId}/rotate`,
      bearer(limited.key),
      {},
    );
    expect(rotateOther.status).toBe(404);
    const stillWorks = await call(gw.url, 'GET', '/admin/v1/keys', bearer(dev.key));
    expect(stillWorks.status).toBe(200);

    const rotated = await call(
      gw.url,
      'POST',
      `/admin/v1/keys/${limited.id}/rotate`,
      bearer(limited.key),
      {},
    );
    expect(rotated.status).toBe(200);
    expect(rotated.body.endpoints).toEqual(['chat-a']);
    expect(rotated.body.expiresAt).toBe(limited.expiresAt);
    const old = await call(gw.url, 'GET', '/admin/v1/keys', bearer(limited.key));
    expect(old.status).toBe(401);
  });
});
