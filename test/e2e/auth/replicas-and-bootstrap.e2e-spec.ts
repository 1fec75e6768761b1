import { Client } from 'pg';

// Booting gateways (PGlite especially) takes seconds on a shared machine.
jest.setTimeout(60_000);
import { createHash } from 'node:crypto';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { bearer, call, chatBody } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

async function waitForStatus(url: string, key: string, status: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const response = await fetch(url, { headers: bearer(key) });
    if (response.status === status) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`status ${status} not reached within ${timeoutMs} ms`);
}

describe('two replicas sharing one PostgreSQL', () => {
  let mock: OpenAIMock;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    const yaml = `endpoints:\n${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}`;
    a = await startGateway(yaml);
    b = await startGateway(yaml, { databaseUrl: a.databaseUrl });
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await mock?.close();
  });

  it('a key minted on one replica works on the other, and its revocation reaches it within a second', async () => {
    const minted = await call(a.url, 'POST', '/admin/v1/keys', a.authHeaders(), { name: 'shared' });
    expect(minted.status).toBe(201);
    await waitForStatus(`${b.url}/admin/v1/me`, minted.body.key, 200, 1000);
    const invoked = await call(
      b.url,
      'POST',
      '/v1/chat/completions',
      bearer(minted.body.key),
      chatBody('chat'),
    );
    expect(invoked.status).toBe(200);

    const revoked = await call(a.url, 'POST', `/admin/v1/keys/${minted.body.id}/revoke`, a.authHeaders());
    expect(revoked.status).toBe(200);
    // The revoking replica refuses it before answering the revoke call.
    expect((await fetch(`${a.url}/admin/v1/me`, { headers: bearer(minted.body.key) })).status).toBe(401);
    const elapsed = await waitForStatus(`${b.url}/admin/v1/me`, minted.body.key, 401, 1000);
    expect(elapsed).toBeLessThan(1000);
  });

  it('role changes propagate too', async () => {
    const p = await call(a.url, 'POST', '/admin/v1/principals', a.authHeaders(), {
      kind: 'user',
      name: 'promoted',
      roles: ['viewer'],
    });
    const key = await call(a.url, 'POST', '/admin/v1/keys', a.authHeaders(), {
      name: 'k',
      principalId: p.body.id,
    });
    await waitForStatus(`${b.url}/admin/v1/me`, key.body.key, 200, 1000);
    expect((await call(b.url, 'GET', '/admin/v1/audit', bearer(key.body.key))).status).toBe(403);
    await call(a.url, 'PUT', `/admin/v1/principals/${p.body.id}/roles`, a.authHeaders(), {
      roles: ['operator'],
    });
    await waitForStatus(`${b.url}/admin/v1/audit`, key.body.key, 200, 1000);
  });
});

describe('embedded PGlite, first boot and failure limits', () => {
  it('revokes at once in a single embedded process', async () => {
    const gateway = await startGateway('endpoints: []\n', { embedded: true });
    try {
      const minted = await call(gateway.url, 'POST', '/admin/v1/keys', gateway.authHeaders(), { name: 'e' });
      expect((await call(gateway.url, 'GET', '/admin/v1/me', bearer(minted.body.key))).status).toBe(200);
      await call(gateway.url, 'POST', `/admin/v1/keys/${minted.body.id}/revoke`, gateway.authHeaders());
      expect((await call(gateway.url, 'GET', '/admin/v1/me', bearer(minted.body.key))).status).toBe(401);
    } finally {
      await gateway.close();
    }
  });

  it('generates an admin key on first boot without GATEHOUSE_ADMIN_API_KEY, prints it once, stores its hash', async () => {
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    let first: TestGateway | undefined;
    let second: TestGateway | undefined;
    try {
      first = await startGateway('endpoints: []\n', { env: { GATEHOUSE_ADMIN_API_KEY: '' } });
      const key = /\b(gh_[A-Za-z0-9_-]{43})\b/.exec(printed.join(''))?.[1];
      expect(key).toBeDefined();
      const printedBefore = printed.length;
      second = await startGateway('endpoints: []\n', {
        databaseUrl: first.databaseUrl,
        env: { GATEHOUSE_ADMIN_API_KEY: '' },
      });
      expect(printed.slice(printedBefore).join('')).not.toContain('gh_');
      spy.mockRestore();
      const me = await call(second.url, 'GET', '/admin/v1/me', bearer(key!));
      expect([me.status, me.body.roles]).toEqual([200, ['admin']]);

      const db = new Client({ connectionString: first.databaseUrl });
      await db.connect();
      try {
        const rows = (await db.query('SELECT * FROM auth_api_keys')).rows as Record<string, unknown>[];
        expect(rows).toHaveLength(1);
        expect(JSON.stringify(rows)).not.toContain(key!.slice(11));
        expect(rows[0].sha256).toBe(createHash('sha256').update(key!).digest('hex'));
        // The audit log refuses to be rewritten.
        await db.query(`INSERT INTO audit_log (action, outcome, target_type) VALUES ('x', 'success', 'y')`);
        await expect(db.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
        await expect(db.query(`UPDATE audit_log SET action = 'z'`)).rejects.toThrow(/append-only/);
      } finally {
        await db.end();
      }
    } finally {
      spy.mockRestore();
      void write;
      await second?.close();
      await first?.close();
    }
  });

  it('answers 429 to a source after repeated failures, even with a good key; other sources unaffected', async () => {
    const gateway = await startGateway('endpoints: []\n', {
      // The test client is "the load balancer" on 127.0.0.1; X-Forwarded-For names the real caller.
      env: { AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_SECONDS: '60', TRUST_PROXY: '127.0.0.1' },
    });
    const from = (ip: string, headers: Record<string, string>) => ({ ...headers, 'x-forwarded-for': ip });
    try {
      for (let i = 0; i < 3; i++) {
        const response = await call(
          gateway.url,
          'GET',
          '/v1/models',
          from('10.0.0.1', bearer(`gh_wrong_${i}`)),
        );
        expect(response.status).toBe(401);
      }
      const blocked = await call(gateway.url, 'GET', '/v1/models', from('10.0.0.1', gateway.authHeaders()));
      expect(blocked.status).toBe(429);
      expect(blocked.body.error.code).toBe('too_many_auth_failures');
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(50);
      expect(
        (await call(gateway.url, 'GET', '/v1/models', from('10.0.0.2', gateway.authHeaders()))).status,
      ).toBe(200);
      expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);

      // Denials are written off the request path: give them a moment.
      const denials = () =>
        call(
          gateway.url,
          'GET',
          '/admin/v1/audit?action=auth.authenticate',
          from('10.0.0.2', gateway.authHeaders()),
        );
      let audit = await denials();
      for (let i = 0; i < 50 && audit.body.entries.length < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        audit = await denials();
      }
      expect(
        audit.body.entries.map((e: { source: string; outcome: string }) => [e.source, e.outcome]),
      ).toEqual([
        ['10.0.0.1', 'denied'],
        ['10.0.0.1', 'denied'],
        ['10.0.0.1', 'denied'],
      ]);
    } finally {
      await gateway.close();
    }
  });
});
