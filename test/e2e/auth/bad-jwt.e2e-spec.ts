import { createHmac, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { exportJWK, SignJWT } from 'jose';
import { bearer, call } from 'test/e2e/support/admin-client';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';

jest.setTimeout(60_000);

const ISSUER = 'https://idp.bank.test/';
const AUDIENCE = 'gatehouse';

interface JwksServer {
  url: string;
  hits: number;
  down: boolean;
  keys: object[];
  close(): Promise<void>;
}

/** A JWKS endpoint we control: count its hits, take it down, change its keys. */
async function startJwksServer(): Promise<JwksServer> {
  const state = { hits: 0, down: false, keys: [] as object[] };
  const server: Server = createServer((_req, res) => {
    state.hits += 1;
    if (state.down) {
      res.statusCode = 503;
      res.end('down');
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/jwks`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

function rsa(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('bad JWTs (bad-inputs §2.1): each refused with 401, never a 5xx', () => {
  let jwks: JwksServer;
  let gateway: TestGateway;
  const signer = rsa();
  const attacker = rsa();
  const now = () => Math.floor(Date.now() / 1000);

  const mint = (
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key: KeyObject = signer.privateKey,
  ) => {
    const jwt = new SignJWT({ sub: 'svc-payments', iss: ISSUER, aud: AUDIENCE, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'main', ...header })
      .setIssuedAt();
    if (!('exp' in claims)) jwt.setExpirationTime('5m');
    return jwt.sign(key);
  };

  const me = (token: string) => call(gateway.url, 'GET', '/admin/v1/me', bearer(token));
  const expectRejected = async (token: string, reason: RegExp) => {
    const response = await me(token);
    expect([response.status, response.body.code]).toEqual([401, 'invalid_token']);
    expect(response.body.message).toMatch(reason);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  };

  beforeAll(async () => {
    jwks = await startJwksServer();
    jwks.keys = [{ ...(await exportJWK(signer.publicKey)), kid: 'main', alg: 'RS256', use: 'sig' }];
    gateway = await startGateway('endpoints: []\n', {
      env: {
        AUTH_JWKS_URL: jwks.url,
        AUTH_JWT_ISSUER: ISSUER,
        AUTH_JWT_AUDIENCE: AUDIENCE,
        AUTH_JWT_AUTO_PROVISION: 'true',
        AUTH_JWT_CLOCK_SKEW_SECONDS: '30',
        AUTH_JWKS_COOLDOWN_SECONDS: '30',
        AUTH_FAILURE_LIMIT: '10000',
        AUTH_JWT_ROLES_CLAIM: 'realm_access.roles',
        AUTH_JWT_TEAM_CLAIM: 'team',
      },
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await jwks?.close();
  });

  it('accepts a well-formed token (baseline)', async () => {
    const response = await me(await mint());
    expect([response.status, response.body.name]).toEqual([200, 'svc-payments']);
  });

  it('maps a nested roles claim, scope permissions and a team claim', async () => {
    const team = await call(gateway.url, 'POST', '/admin/v1/teams', gateway.authHeaders(), { name: 'risk' });
    const token = await mint({
      sub: 'svc-risk',
      realm_access: { roles: ['operator', 'superuser'] },
      scope: 'openid secrets.read',
      team: 'risk',
    });
    const response = await me(token);
    expect(response.status).toBe(200);
    expect([...response.body.roles].sort()).toEqual(['developer', 'operator']);
    expect(response.body.permissions).toContain('secrets.read');
    expect(response.body.permissions).toContain('audit.read');
    expect(response.body.permissions).not.toContain('secrets.write');
    expect(response.body.teamId).toBe(team.body.id);
    // An unknown team name in the claim leaves the principal in its registered team.
    const other = await me(await mint({ sub: 'svc-risk', team: 'no-such-team' }));
    expect(other.body.teamId).not.toBe(team.body.id);
    expect(other.body.roles).toEqual(['developer']);
  });

  it('refuses a malformed token', async () => {
    // The protected header is not JSON: refused before any key is looked up.
    await expectRejected(`${Buffer.from('{"alg":').toString('base64url')}.e30.c2ln`, /malformed/);
  });

  it("refuses alg 'none'", async () => {
    const token = `${b64({ alg: 'none', kid: 'main' })}.${b64({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: now() + 300 })}.`;
    await expectRejected(token, /algorithm not allowed|malformed/);
  });

  it('refuses an HS256 token signed with the public key as the HMAC secret (RS/HS confusion)', async () => {
    const secret = signer.publicKey.export({ format: 'pem', type: 'spki' });
    const input = `${b64({ alg: 'HS256', kid: 'main' })}.${b64({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: now() + 300 })}`;
    const signature = createHmac('sha256', secret).update(input).digest('base64url');
    await expectRejected(`${input}.${signature}`, /algorithm not allowed/);
  });

  it('refuses the wrong issuer', async () => {
    await expectRejected(await mint({ iss: 'https://evil.test/' }), /issuer/);
  });

  it('refuses the wrong audience', async () => {
    await expectRejected(await mint({ aud: 'someone-else' }), /audience/);
  });

  it('refuses an expired token beyond the clock skew, accepts one within it', async () => {
    await expectRejected(await mint({ exp: now() - 31 - 5 }), /expired/);
    expect((await me(await mint({ exp: now() - 10 }))).status).toBe(200);
  });

  it('refuses a token not yet valid (nbf beyond the skew)', async () => {
    await expectRejected(await mint({ nbf: now() + 120 }), /nbf/);
  });

  it('refuses a JWT and an API key sent together', async () => {
    const response = await call(gateway.url, 'GET', '/admin/v1/me', {
      ...bearer(await mint()),
      'x-api-key': gateway.apiKey,
    });
    expect([response.status, response.body.code]).toEqual([401, 'invalid_api_key']);
  });

  it('refuses a token without exp', async () => {
    const token = await new SignJWT({ sub: 'svc' })
      .setProtectedHeader({ alg: 'RS256', kid: 'main' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(signer.privateKey);
    await expectRejected(token, /missing required claim 'exp'/);
  });

  it('refuses a tampered payload', async () => {
    const [h, p, s] = (await mint()).split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = b64({ ...payload, sub: 'bootstrap-admin', roles: ['admin'] });
    expect(forged).not.toBe(p);
    await expectRejected(`${h}.${forged}.${s}`, /signature verification failed/);
  });

  it('refuses an unknown kid, and a flood of them refetches the JWKS at most once per cooldown', async () => {
    const before = jwks.hits;
    await expectRejected(
      await mint({}, { kid: 'rotated-away' }, attacker.privateKey),
      /no matching signing key/,
    );
    const flood = await Promise.all(
      Array.from({ length: 25 }, async () => me(await mint({}, { kid: randomBytes(8).toString('hex') }))),
    );
    expect(flood.map((r) => r.status)).toEqual(Array(25).fill(401));
    expect(jwks.hits - before).toBe(1);
  });

  it('ignores jku, x5u and an embedded jwk: only the configured JWKS decides', async () => {
    const attackerServer = await startJwksServer();
    attackerServer.keys = [{ ...(await exportJWK(attacker.publicKey)), kid: 'main', alg: 'RS256' }];
    try {
      const embedded = await mint(
        { sub: 'evil' },
        {
          kid: 'main',
          jku: attackerServer.url,
          x5u: attackerServer.url,
          jwk: await exportJWK(attacker.publicKey),
        },
        attacker.privateKey,
      );
      await expectRejected(embedded, /signature verification failed/);
      expect(attackerServer.hits).toBe(0);
    } finally {
      await attackerServer.close();
    }
  });

  it('treats kid as an opaque lookup key (path, SQL or URL in kid; within the refetch cooldown)', async () => {
    for (const kid of ['../../etc/passwd', "main' OR '1'='1", 'https://evil.test/jwks']) {
      await expectRejected(await mint({}, { kid }), /no matching signing key/);
    }
  });

  it('keeps verifying with cached keys while the JWKS endpoint is down', async () => {
    jwks.down = true;
    try {
      expect((await me(await mint())).status).toBe(200);
    } finally {
      jwks.down = false;
    }
  });

  it('answers 503, not 401, when no keys were ever fetched and the JWKS endpoint is down', async () => {
    const dead = await startJwksServer();
    dead.down = true;
    const cold = await startGateway('endpoints: []\n', {
      env: { AUTH_JWKS_URL: dead.url, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: AUDIENCE },
    });
    try {
      const response = await call(cold.url, 'POST', '/v1/chat/completions', bearer(await mint()), {
        model: 'x',
        messages: [],
      });
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe('auth_unavailable');
      expect(response.headers.get('retry-after')).toBe('5');
      // API keys do not depend on the identity provider.
      expect((await call(cold.url, 'GET', '/admin/v1/me', cold.authHeaders())).status).toBe(200);
    } finally {
      await cold.close();
      await dead.close();
    }
  });
});
