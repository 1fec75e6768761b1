import { createHmac, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo, connect } from 'node:net';
import { exportJWK, SignJWT } from 'jose';
import { loadAppConfig } from 'src/config/env.config';
import { signWebhook } from 'src/modules/registry/webhook-signature';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { bearer, call, chatBody, JsonResponse } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';

jest.setTimeout(120_000);

/*
 * The abuse suite: what an attacker with an ordinary account (or none) tries against the real app, each
 * case refused the way a multi-tenant gateway should, and never with a 5xx for the caller's mistake. A
 * closing table lists every case. Only the LLM provider and the identity provider's JWKS are local fakes.
 */

const ISSUER = 'https://idp.abuse.test/';
const AUDIENCE = 'gatehouse';
const WEBHOOK_SECRET = `whsec-${randomBytes(8).toString('hex')}`;
const BODY_TIMEOUT_MS = 1_500;
const LONG_NAME = 'a-fairly-long-endpoint-name-for-the-test';
const EMAIL_PATTERN = String.raw`[\w.]+@[\w.]+\.com`;
const STAR_PATTERN = 'a*a*a*a*a*a*a*a*a*a*a*a*b';

interface CaseResult {
  area: string;
  name: string;
  expected: string;
  got: string;
  ok: boolean;
  /** 5xx answers the case received for a client's mistake. */
  serverErrors: number;
}

const results: CaseResult[] = [];

/** Records one case for the closing table (and asserts it, so a failing case fails its test). */
function record(area: string, name: string, expected: number[], statuses: number[]): void {
  const ok = statuses.length > 0 && statuses.every((s) => expected.includes(s));
  results.push({
    area,
    name,
    expected: expected.join('/'),
    got: [...new Set(statuses)].join('/'),
    ok,
    serverErrors: statuses.filter((s) => s >= 500).length,
  });
  expect([name, [...new Set(statuses)].filter((s) => !expected.includes(s))]).toEqual([name, []]);
}

interface JwksServer {
  url: string;
  hits: number;
  down: boolean;
  keys: object[];
  close(): Promise<void>;
}

async function startJwksServer(): Promise<JwksServer> {
  const state = { hits: 0, down: true, keys: [] as object[] };
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

/** What a raw socket received, and whether (and when) the server closed it. */
interface RawExchange {
  received: string;
  firstByteMs: number | undefined;
  closedAfterMs: number | undefined;
}

/** Writes `chunks` on a raw TCP connection and waits up to `waitMs` for the server to answer and close. */
function rawExchange(url: string, chunks: string[], waitMs: number): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    let received = '';
    let firstByteMs: number | undefined;
    const finish = (closedAfterMs: number | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, firstByteMs, closedAfterMs });
    };
    const timer = setTimeout(() => finish(undefined), waitMs);
    socket.on('data', (chunk: Buffer) => {
      firstByteMs ??= Date.now() - started;
      received += chunk.toString('latin1');
    });
    socket.on('close', () => finish(Date.now() - started));
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
  });
}

const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);

describe('abuse suite (real app; only providers and the IdP are local fakes)', () => {
  let mock: OpenAIMock;
  let jwks: JwksServer;
  let gateway: TestGateway;
  let admin: Record<string, string>;
  const signer = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const api = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    call(gateway.url, method, path, headers, body);
  /** Each case authenticates from its own forwarded address: failure limits stay per case. */
  let nextAddress = 1;
  const from = (headers: Record<string, string> = {}) => ({
    ...headers,
    'x-forwarded-for': `198.51.100.${nextAddress++}`,
  });

  /** Runs `bad` while probing GET /health every 10 ms; returns the slowest probe's latency and bad's result. */
  async function healthWhile<T>(
    bad: () => Promise<T>,
  ): Promise<{ result: T; slowestMs: number; probes: number }> {
    let done = false;
    let slowestMs = 0;
    let probes = 0;
    const probing = (async () => {
      while (!done) {
        const started = performance.now();
        const response = await fetch(`${gateway.url}/health`);
        await response.arrayBuffer();
        expect(response.status).toBe(200);
        slowestMs = Math.max(slowestMs, performance.now() - started);
        probes += 1;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await new Promise((r) => setTimeout(r, 5));
    try {
      return { result: await bad(), slowestMs, probes };
    } finally {
      done = true;
      await probing;
    }
  }

  const mint = (
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key: KeyObject = signer.privateKey,
  ) => {
    const jwt = new SignJWT({ sub: 'svc-abuse', iss: ISSUER, aud: AUDIENCE, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'main', ...header })
      .setIssuedAt();
    if (!('exp' in claims)) jwt.setExpirationTime('5m');
    return jwt.sign(key);
  };

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    jwks = await startJwksServer();
    jwks.keys = [{ ...(await exportJWK(signer.publicKey)), kid: 'main', alg: 'RS256', use: 'sig' }];
    gateway = await startGateway(
      `
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}
${openaiEndpoint(LONG_NAME, 'gpt-4o-mini', mock.url)}
${openaiEndpoint('csv-chat', "'gpt;=2+2'", mock.url)}
${openaiEndpoint(
  'guarded',
  'gpt-4o-mini',
  mock.url,
  'llm/v1/chat',
  `    gatehouse:
      moderation:
        input:
          - {type: deny-list, action: block, patterns: ['${EMAIL_PATTERN}', '${STAR_PATTERN}']}
`,
)}
`,
      {
        env: {
          AUTH_JWKS_URL: jwks.url,
          AUTH_JWT_ISSUER: ISSUER,
          AUTH_JWT_AUDIENCE: AUDIENCE,
          AUTH_JWT_AUTO_PROVISION: 'true',
          AUTH_FAILURE_LIMIT: '5',
          AUTH_FAILURE_WINDOW_SECONDS: '600',
          TRUST_PROXY: '127.0.0.1',
          REQUEST_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
          REQUEST_HEADERS_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
          MLFLOW_WEBHOOK_SECRET: WEBHOOK_SECRET,
          REDIS_URL: 'redis://127.0.0.1:6379',
          REDIS_KEY_PREFIX: `gh-abuse-${randomBytes(4).toString('hex')}:`,
        },
      },
    );
    admin = gateway.authHeaders();
  });

  afterAll(async () => {
    await gateway?.close();
    await jwks?.close();
    await mock?.close();
  });

  describe('identity provider outage (runs first: no keys cached yet)', () => {
    it('backs off JWKS fetches and counts 503s toward the failure limit: 100 forged tokens, a handful of fetches', async () => {
      const before = jwks.hits;
      const one = from();
      const statuses: number[] = [];
      for (let i = 0; i < 100; i++) {
        const token = await mint({}, { kid: `forged-${i}` });
        statuses.push((await api('GET', '/admin/v1/me', { ...bearer(token), ...one })).status);
      }
      // Five failures (the limit), then 429 for the rest of the window, without asking the IdP again.
      expect(statuses.slice(0, 5)).toEqual([503, 503, 503, 503, 503]);
      expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
      // From 100 different addresses (a botnet): the back-off still keeps the IdP quiet.
      const spread: number[] = [];
      for (let i = 0; i < 100; i++) {
        const token = await mint({}, { kid: `spread-${i}` });
        spread.push((await api('GET', '/admin/v1/me', { ...bearer(token), ...from() })).status);
      }
      expect(new Set(spread)).toEqual(new Set([503]));
      expect(jwks.hits - before).toBeLessThanOrEqual(4);
      // The IdP's outage is a 503 by design (not a client mistake); the table shows its refusals.
      results.push({
        area: 'auth',
        name: `JWKS down: 200 forged tokens → ${jwks.hits - before} JWKS fetches`,
        expected: '503 then 429',
        got: [...new Set([...statuses, ...spread])].join('/'),
        ok: true,
        serverErrors: 0,
      });
      jwks.down = false;
      // Recovery within the back-off (each probe from its own address: probes must not lock anyone out).
      await waitFor(
        async () => (await api('GET', '/admin/v1/me', { ...bearer(await mint()), ...from() })).status === 200,
        70_000,
      );
    });
  });

  describe('JWT attacks (hold already)', () => {
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    it.each([
      [
        'alg none',
        async () =>
          `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: 9e9 })}.`,
      ],
      [
        'HS256 signed with the public key',
        async () => {
          const pem = signer.publicKey.export({ type: 'spki', format: 'pem' });
          const head = `${b64({ alg: 'HS256', kid: 'main' })}.${b64({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: 9e9 })}`;
          return `${head}.${createHmac('sha256', pem).update(head).digest('base64url')}`;
        },
      ],
      ['expired', () => mint({ exp: Math.floor(Date.now() / 1000) - 3600 })],
      ['wrong issuer', () => mint({ iss: 'https://evil.test/' })],
      ['wrong audience', () => mint({ aud: 'someone-else' })],
    ])('%s → 401', async (name, token) => {
      const response = await api('GET', '/admin/v1/me', { ...bearer(await token()), ...from() });
      record('auth', `JWT ${name}`, [401], [response.status]);
    });
  });

  describe('linear-time matching', () => {
    it('a key scoped to 50 or 60 stars then Q is decided at once; /health stays under 100 ms', async () => {
      for (const stars of [50, 60]) {
        const key = await api('POST', '/admin/v1/keys', admin, {
          name: `stars-${stars}`,
          endpoints: [`${'*'.repeat(stars)}Q`],
        });
        expect(key.status).toBe(201);
        const { result, slowestMs, probes } = await healthWhile(() =>
          api('POST', '/v1/chat/completions', bearer(key.body.key), chatBody(LONG_NAME)),
        );
        expect(probes).toBeGreaterThan(0);
        expect(slowestMs).toBeLessThan(100);
        record('matching', `key scoped to ${stars} stars + Q`, [403], [result.status]);
      }
    });

    it('a grant pattern of 60 stars then Q is decided at once', async () => {
      const team = await api('POST', '/admin/v1/teams', admin, { name: 'glob-team' });
      const principal = await api('POST', '/admin/v1/principals', admin, {
        kind: 'service',
        name: 'glob-dev',
        teamId: team.body.id,
        roles: ['developer'],
      });
      const key = await api('POST', '/admin/v1/keys', admin, { name: 'k', principalId: principal.body.id });
      const grant = await api('POST', '/admin/v1/grants', admin, {
        teamId: team.body.id,
        endpointPattern: `${'*'.repeat(60)}Q`,
        destinations: [`${'*'.repeat(60)}Q`],
      });
      expect(grant.status).toBe(201);
      const { result, slowestMs } = await healthWhile(() =>
        api('POST', '/v1/chat/completions', bearer(key.body.key), chatBody(LONG_NAME)),
      );
      expect(slowestMs).toBeLessThan(100);
      record('matching', 'grant pattern of 60 stars + Q', [403], [result.status]);
    });

    it.each([
      [EMAIL_PATTERN, 'a'.repeat(40_000)],
      [STAR_PATTERN, 'a'.repeat(1_000)],
    ])('deny-list %s on its pathological input: answered, /health under 100 ms', async (pattern, text) => {
      const { result, slowestMs } = await healthWhile(() =>
        api('POST', '/v1/chat/completions', admin, {
          model: 'guarded',
          messages: [{ role: 'user', content: text }],
        }),
      );
      expect(slowestMs).toBeLessThan(100);
      expect(result.status).toBe(200);
      record(
        'matching',
        `deny-list ${pattern} on ${text.length} chars (allowed, fast)`,
        [200],
        [result.status],
      );
      // And the pattern still works: a match is blocked.
      const blocked = await api('POST', '/v1/chat/completions', admin, {
        model: 'guarded',
        messages: [{ role: 'user', content: `write to jane.doe@example.com or ${'a'.repeat(5)}b` }],
      });
      record('matching', `deny-list ${pattern} match blocked`, [400], [blocked.status]);
    });

    it('refuses a pattern RE2 cannot run with a clear 400', async () => {
      const team = await api('POST', '/admin/v1/teams', admin, { name: 're2-team' });
      const response = await api('PUT', `/admin/v1/moderation/teams/${team.body.id}/overrides/chat`, admin, {
        policy: { input: [{ type: 'deny-list', patterns: ['(a+)\\1'] }] },
      });
      expect(JSON.stringify(response.body)).toContain('not a valid RE2 regular expression');
      record('matching', 'deny pattern with a backreference', [400], [response.status]);
    });
  });

  describe('slow and abusive clients (raw sockets)', () => {
    it('a bad Bearer token with Content-Length 1000 and 9 bytes: answered 401 before the body, then closed', async () => {
      const exchange = await rawExchange(
        gateway.url,
        [
          'POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer gh_not_a_real_key\r\n' +
            'Content-Type: application/json\r\nContent-Length: 1000\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n{"model":',
        ],
        BODY_TIMEOUT_MS * 4,
      );
      expect(statusOf(exchange.received)).toBe(401);
      // Credentials are checked before the body: the answer does not wait for the missing 991 bytes.
      expect(exchange.firstByteMs).toBeLessThan(BODY_TIMEOUT_MS / 2);
      expect(exchange.closedAfterMs).toBeDefined();
      // …and the connection is closed with the answer, not kept open for a body that is never read.
      expect(exchange.closedAfterMs!).toBeLessThan(BODY_TIMEOUT_MS / 2);
      expect(exchange.received.toLowerCase()).toContain('connection: close');
      record('slow clients', 'bad token, body never completes', [401], [statusOf(exchange.received)]);
    });

    it('a valid key whose body never completes gets 408 and a closed connection', async () => {
      const exchange = await rawExchange(
        gateway.url,
        [
          `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${gateway.apiKey}\r\n` +
            'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":',
        ],
        BODY_TIMEOUT_MS * 4,
      );
      expect(exchange.closedAfterMs).toBeDefined();
      expect(exchange.closedAfterMs!).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 100);
      expect(exchange.closedAfterMs!).toBeLessThan(BODY_TIMEOUT_MS * 2);
      record('slow clients', 'slow body (valid key)', [408], [statusOf(exchange.received)]);
    });

    it('headers that never finish (slowloris) get 408 and a closed connection', async () => {
      const exchange = await rawExchange(
        gateway.url,
        ['GET /v1/models HTTP/1.1\r\nHost: gw\r\nX-Slow: 1\r\n'],
        BODY_TIMEOUT_MS * 4,
      );
      expect(exchange.closedAfterMs).toBeDefined();
      expect(exchange.closedAfterMs!).toBeLessThan(BODY_TIMEOUT_MS * 2);
      record('slow clients', 'slowloris headers', [408], [statusOf(exchange.received)]);
    });

    it('/v1/moderations: a total-character cap, and the same request-rate limits as inference', async () => {
      const big = await api('POST', '/v1/moderations', admin, {
        input: ['a'.repeat(150_000), 'b'.repeat(150_000)],
      });
      expect(big.body.error.param).toBe('input');
      record('slow clients', '/v1/moderations 300,000 chars over two inputs', [413], [big.status]);

      const principal = await api('POST', '/admin/v1/principals', admin, {
        kind: 'service',
        name: 'rate-limited',
        roles: ['admin'],
      });
      const key = await api('POST', '/admin/v1/keys', admin, { name: 'rl', principalId: principal.body.id });
      const limit = await api('POST', '/admin/v1/limits', admin, {
        scope: 'key',
        subject: key.body.id,
        metric: 'requests',
        window: 'minute',
        limit: 3,
      });
      expect(limit.status).toBe(201);
      const headers = bearer(key.body.key);
      await waitFor(async () => {
        const probe = await api('GET', '/admin/v1/limits', admin);
        return JSON.stringify(probe.body).includes(key.body.id);
      });
      // Inference and moderation share the key's counter: 2 chats + 1 moderation use it up.
      const statuses: number[] = [];
      statuses.push((await api('POST', '/v1/chat/completions', headers, chatBody('chat'))).status);
      statuses.push((await api('POST', '/v1/chat/completions', headers, chatBody('chat'))).status);
      statuses.push((await api('POST', '/v1/moderations', headers, { input: 'hello' })).status);
      const refused = await api('POST', '/v1/moderations', headers, { input: 'hello' });
      const refusedChat = await api('POST', '/v1/chat/completions', headers, chatBody('chat'));
      expect(statuses).toEqual([200, 200, 200]);
      expect(refused.headers.get('retry-after')).not.toBeNull();
      record(
        'slow clients',
        '/v1/moderations past the key request limit',
        [429],
        [refused.status, refusedChat.status],
      );
    });
  });

  describe('request hygiene', () => {
    it('bounded numbers in queries and bodies: 400, never 500', async () => {
      const audit = await api('GET', '/admin/v1/audit?before=9999999999999999999', admin);
      record('hygiene', 'audit before=9999999999999999999', [400], [audit.status]);
      const usage = await api('GET', '/admin/v1/usage?from=0001-01-01&to=9999-12-31', admin);
      record('hygiene', 'usage from=0001-01-01 to=9999-12-31', [400], [usage.status]);
      const cursor = Buffer.from(
        'Sat, 13 Sep 275760 00:00:00 GMT|00000000-0000-0000-0000-000000000000',
      ).toString('base64url');
      const records = await api('GET', `/admin/v1/usage/records?before=${cursor}`, admin);
      record('hygiene', 'usage records cursor with a far date', [400], [records.status]);
      const rollback = await api('POST', '/admin/v1/endpoints/chat/rollback', admin, {
        revision: 99999999999999,
      });
      record('hygiene', 'rollback to revision 99999999999999', [400], [rollback.status]);
    });

    it('prototype keys are refused after JSON decoding, escaped or not', async () => {
      const statuses: number[] = [];
      for (const body of [
        '{"\\u005f_proto__":{"isAdmin":true},"model":"chat","messages":[]}',
        '{"model":"chat","messages":[{"role":"user","content":"x","constructor":{"prototype":{"a":1}}}]}',
        '{"__proto__":{"admin":true}}',
      ]) {
        const response = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { ...admin, 'content-type': 'application/json' },
          body,
        });
        statuses.push(response.status);
      }
      record('hygiene', '__proto__ / constructor / prototype keys (escaped too)', [400], statuses);
    });

    it('a signed registry webhook is accepted once; its replay is refused', async () => {
      const payload = JSON.stringify({ entity: 'model_version_alias', action: 'created', data: {} });
      const now = String(Math.floor(Date.now() / 1000));
      const id = `d-${randomBytes(4).toString('hex')}`;
      const deliver = () =>
        fetch(`${gateway.url}/webhooks/mlflow`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-mlflow-signature': signWebhook(WEBHOOK_SECRET, id, now, payload),
            'x-mlflow-timestamp': now,
            'x-mlflow-delivery-id': id,
          },
          body: payload,
        });
      expect((await deliver()).status).toBe(200);
      const replay = await deliver();
      record('hygiene', 'signed webhook replayed within its window', [409], [replay.status]);
    });

    it('a chargeback CSV neutralises a model name that hides a formula behind a separator', async () => {
      expect((await api('POST', '/v1/chat/completions', admin, chatBody('csv-chat'))).status).toBe(200);
      let line: string | undefined;
      await waitFor(async () => {
        const csv = await fetch(`${gateway.url}/admin/v1/chargeback?format=csv`, { headers: admin });
        line = (await csv.text()).split('\r\n').find((l) => l.includes('csv-chat'));
        return line !== undefined;
      }, 15_000);
      const cells = line!.split(',');
      const model = cells[cells.indexOf('csv-chat') + 2];
      expect(model).toBe(`"'gpt;=2+2"`);
      results.push({
        area: 'hygiene',
        name: 'chargeback CSV cell gpt;=2+2',
        expected: "'-prefixed",
        got: model,
        ok: model === `"'gpt;=2+2"`,
        serverErrors: 0,
      });
    });

    it('TRUST_PROXY=true (trust any X-Forwarded-For) is refused at boot', () => {
      const statuses = ['true', '*', '0.0.0.0/0', '::/0'].map((value) => {
        try {
          loadAppConfig({ TRUST_PROXY: value });
          return 200;
        } catch {
          return 400;
        }
      });
      record('hygiene', 'TRUST_PROXY true / * / 0.0.0.0/0 / ::/0 refused (config)', [400], statuses);
    });

    it('oversized bodies and headers, deep JSON, credentials in the query string', async () => {
      const huge = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ ...chatBody('chat'), pad: 'x'.repeat(3 * 1024 * 1024) }),
      });
      record('hygiene', 'body over BODY_LIMIT_BYTES', [413], [huge.status]);
      const headers = await rawExchange(
        gateway.url,
        [`GET /v1/models HTTP/1.1\r\nHost: gw\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`],
        BODY_TIMEOUT_MS * 2,
      );
      record('hygiene', 'headers over 16 KiB', [431], [statusOf(headers.received)]);
      const deep = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: `{"model":"chat","messages":[],"metadata":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
      });
      record('hygiene', 'JSON nested 10,000 deep', [400], [deep.status]);
      const query: JsonResponse = await api('GET', `/v1/models?api_key=${gateway.apiKey}`, {});
      expect(JSON.stringify(query.body)).not.toContain(gateway.apiKey);
      record('hygiene', 'API key in the query string', [400], [query.status]);
    });
  });

  it('prints the closing table: every case refused as expected, no 5xx', () => {
    const width = Math.max(...results.map((r) => `${r.area}: ${r.name}`.length));
    const lines = results.map(
      (r) =>
        `${`${r.area}: ${r.name}`.padEnd(width)}  expected ${r.expected.padEnd(11)} got ${r.got.padEnd(11)} ${r.ok ? 'ok' : 'FAIL'}`,
    );
    const refused = results.filter((r) => r.ok).length;
    const serverErrors = results.reduce((sum, r) => sum + r.serverErrors, 0);
    console.log(
      [
        'Abuse suite',
        ...lines,
        `cases tried: ${results.length}, refused as expected: ${refused}, 5xx for client mistakes: ${serverErrors}`,
      ].join('\n'),
    );
    expect(results.length).toBeGreaterThanOrEqual(25);
    expect(refused).toBe(results.length);
    expect(serverErrors).toBe(0);
  });
});
