import { call, chatBody } from 'test/e2e/support/admin-client';
import { member } from 'test/e2e/security/support';
import { redisKeys, TEST_REDIS_URL, uniqueRedisPrefix } from 'test/e2e/support/redis-prefix';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';

jest.setTimeout(120_000);

interface Usage {
  limit_id: string;
  source: string;
  scope: string;
  subject: string | null;
  endpoint: string | null;
  metric: string;
  window_seconds: number | null;
  limit: number;
  used: number | null;
  remaining: number | null;
  window_start: string | null;
  resets_at: string | null;
}

/** A year: the window (aligned to the epoch) does not roll over while the test runs. */
const YEAR = 31_536_000;

/**
 * `GET /admin/v1/limits/usage`: each limit's live counter read from the limiter's own storage (Redis
 * Lua counters, or the in-process store without Redis), with the limits list's ownership rules.
 */
describe.each([
  ['Redis', true],
  ['the in-process store', false],
])('limit usage from %s', (_name, withRedis) => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  const prefix = uniqueRedisPrefix('limits-usage');
  let alpha: Awaited<ReturnType<typeof member>>;
  let beta: Awaited<ReturnType<typeof member>>;
  const ids: Record<string, string> = {};
  let tokensUsed = 0;

  const admin = () => gateway.authHeaders();
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const usage = async (headers: Record<string, string>, query = '') =>
    call<Usage[]>(gateway.url, 'GET', `/admin/v1/limits/usage${query}`, headers);
  const limit = async (body: Record<string, unknown>) => {
    const created = await call<{ id: string }>(gateway.url, 'POST', '/admin/v1/limits', admin(), body);
    expect(created.status).toBe(201);
    return created.body.id;
  };

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    const yaml = `endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url, 'llm/v1/chat', '    gatehouse:\n      limits:\n        - { per: endpoint, requests_per_day: 40 }')}
`;
    gateway = await startGateway(yaml, {
      env: withRedis ? { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix } : {},
    });
    alpha = await member(gateway, 'usage-alpha', ['developer']);
    beta = await member(gateway, 'usage-beta', ['viewer']);
    const grant = await call(gateway.url, 'POST', '/admin/v1/grants', admin(), {
      teamId: alpha.teamId,
      endpointPattern: 'chat',
    });
    expect(grant.status).toBe(201);
    ids.alpha = await limit({
      scope: 'team',
      subject: alpha.teamId,
      metric: 'requests',
      window_seconds: YEAR,
      limit: 1000,
    });
    ids.alphaCap = await limit({ scope: 'team', subject: alpha.teamId, metric: 'concurrency', limit: 5 });
    ids.beta = await limit({
      scope: 'team',
      subject: beta.teamId,
      metric: 'requests',
      window_seconds: YEAR,
      limit: 100,
    });
    ids.global = await limit({ scope: 'global', metric: 'requests', window_seconds: YEAR, limit: 10_000 });
    ids.eachTeam = await limit({ scope: 'team', metric: 'tokens', window_seconds: YEAR, limit: 1_000_000 });
    // Rules reach every replica's snapshot within a second: wait until the list shows them all.
    for (let i = 0; i < 50; i++) {
      const listed = (await usage(admin())).body.map((u) => u.limit_id);
      if (Object.values(ids).every((id) => listed.includes(id))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < 3; i++) {
      const answer = await call<{ usage: { total_tokens: number } }>(
        gateway.url,
        'POST',
        '/v1/chat/completions',
        bearer(alpha.key),
        chatBody('chat'),
      );
      expect(answer.status).toBe(200);
      tokensUsed += answer.body.usage.total_tokens;
    }
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
    if (withRedis) await redisKeys(prefix, true);
  });

  it('shows an admin every counter: the requests just sent, the window and when it resets', async () => {
    const start = Math.floor(Date.now() / (YEAR * 1000)) * YEAR * 1000;
    const window = {
      window_start: new Date(start).toISOString(),
      resets_at: new Date(start + YEAR * 1000).toISOString(),
    };
    const answer = await usage(admin());
    expect(answer.status).toBe(200);
    const byId = new Map(answer.body.map((u) => [u.limit_id, u]));
    expect(byId.get(ids.alpha)).toEqual({
      limit_id: ids.alpha,
      source: 'admin',
      scope: 'team',
      subject: alpha.teamId,
      endpoint: null,
      metric: 'requests',
      window_seconds: YEAR,
      limit: 1000,
      used: 3,
      remaining: 997,
      ...window,
    });
    expect(byId.get(ids.beta)).toMatchObject({ subject: beta.teamId, used: 0, remaining: 100, ...window });
    expect(byId.get(ids.global)).toMatchObject({ subject: '*', used: 3, remaining: 9997, ...window });
    // No request is in flight: the cap holds none, and has no window.
    expect(byId.get(ids.alphaCap)).toMatchObject({
      metric: 'concurrency',
      used: 0,
      remaining: 5,
      window_seconds: null,
      window_start: null,
      resets_at: null,
    });
    // One counter per team: listed without a subject, read with one.
    expect(byId.get(ids.eachTeam)).toMatchObject({
      subject: null,
      used: null,
      remaining: null,
      resets_at: null,
    });
    // gateway.yaml's per-endpoint rule counts the endpoint's requests.
    const yaml = answer.body.filter((u) => u.source === 'yaml');
    expect(yaml).toEqual([
      expect.objectContaining({
        scope: 'endpoint',
        subject: 'chat',
        window_seconds: 86_400,
        limit: 40,
        used: 3,
      }),
    ]);
  });

  it("reads one subject's counter of a per-subject rule: the tokens the team used", async () => {
    // Token counters are settled with the real usage once each answer is over.
    let read: Usage | undefined;
    for (let i = 0; i < 50; i++) {
      const answer = await usage(admin(), `?limit_id=${ids.eachTeam}&subject=${alpha.teamId}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toHaveLength(1);
      read = answer.body[0];
      if (read.used === tokensUsed) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(tokensUsed).toBeGreaterThan(0);
    expect(read).toMatchObject({
      subject: alpha.teamId,
      used: tokensUsed,
      remaining: 1_000_000 - tokensUsed,
    });
    const other = await usage(admin(), `?limit_id=${ids.eachTeam}&subject=${beta.teamId}`);
    expect(other.body[0]).toMatchObject({ subject: beta.teamId, used: 0 });
  });

  it("shows a team member its own team's limits only, never another team's or the global ones", async () => {
    const own = await usage(bearer(alpha.key));
    expect(own.status).toBe(200);
    expect(own.body.map((u) => [u.limit_id, u.used]).sort()).toEqual(
      [
        [ids.alpha, 3],
        [ids.alphaCap, 0],
      ].sort(),
    );
    const theirs = await usage(bearer(beta.key));
    expect(theirs.body.map((u) => [u.limit_id, u.used])).toEqual([[ids.beta, 0]]);
    for (const id of [ids.alpha, ids.global, ids.eachTeam]) {
      const refused = await usage(bearer(beta.key), `?limit_id=${id}`);
      expect([id, refused.status]).toEqual([id, 404]);
    }
  });

  it('refuses a subject without a limit and unknown parameters with 400', async () => {
    for (const query of [`?subject=${alpha.teamId}`, '?team=x']) {
      const answer = await usage(admin(), query);
      expect([query, answer.status]).toEqual([query, 400]);
      expect(JSON.stringify(answer.body)).not.toMatch(/at .*\.ts:\d+/);
    }
    expect((await usage({})).status).toBe(401);
  });
});
