import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { bearer, call, JsonResponse } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';

jest.setTimeout(60_000);

const cache = (settings: string) => `    gatehouse:\n      cache: ${settings}\n`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Member {
  teamId: string;
  key: string;
}

describe('Response cache: team isolation (PostgreSQL, in-process store)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let alpha: Member;
  let beta: Member;
  const api = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    call(gateway.url, method, path, headers, body);

  /** A team, a developer in it, a key for the developer, and a team grant on the cached endpoints. */
  async function member(team: string): Promise<Member> {
    const admin = gateway.authHeaders();
    const created = await api('POST', '/admin/v1/teams', admin, { name: team });
    expect(created.status).toBe(201);
    const teamId = created.body.id as string;
    const principal = await api('POST', '/admin/v1/principals', admin, {
      kind: 'user',
      name: `${team}-dev`,
      teamId,
      roles: ['developer'],
    });
    expect(principal.status).toBe(201);
    const key = await api('POST', '/admin/v1/keys', admin, { name: 'k', principalId: principal.body.id });
    expect(key.status).toBe(201);
    const grant = await api('POST', '/admin/v1/grants', admin, { teamId, endpointPattern: 'cached-*' });
    expect(grant.status).toBe(201);
    return { teamId, key: key.body.key as string };
  }

  const chat = (who: Member, model: string, content: string): Promise<JsonResponse> =>
    api('POST', '/v1/chat/completions', bearer(who.key), {
      model,
      messages: [{ role: 'user', content }],
      temperature: 0,
    });
  const status = (answer: JsonResponse) => answer.headers.get('x-gatehouse-cache');

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('cached-team', 'gpt-4o-mini', mock.url, 'llm/v1/chat', cache('{ttl_seconds: 60}'))}
${openaiEndpoint('cached-global', 'gpt-4o-mini', mock.url, 'llm/v1/chat', cache('{scope: global}'))}
`);
    alpha = await member('alpha');
    beta = await member('beta');
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('same prompt, two teams: two upstream calls, each team hits only its own entry', async () => {
    const before = mock.requests.length;
    const first = await chat(alpha, 'cached-team', 'same prompt');
    const second = await chat(beta, 'cached-team', 'same prompt');
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([status(first), status(second)]).toEqual(['miss', 'miss']);
    expect(mock.requests.length).toBe(before + 2);

    await sleep(50);
    const repeat = await chat(alpha, 'cached-team', 'same prompt');
    expect(status(repeat)).toBe('hit');
    expect(repeat.body).toEqual(first.body);
    expect(mock.requests.length).toBe(before + 2);

    // Invalidating alpha's entries leaves beta's.
    const invalidated = await api('POST', '/admin/v1/cache/invalidations', gateway.authHeaders(), {
      team_id: alpha.teamId,
    });
    expect(invalidated.status).toBe(200);
    expect(invalidated.body).toEqual({ deleted: 1 });
    expect(status(await chat(beta, 'cached-team', 'same prompt'))).toBe('hit');
    expect(status(await chat(alpha, 'cached-team', 'same prompt'))).toBe('miss');
    expect(mock.requests.length).toBe(before + 3);
  });

  it('a global-scope endpoint shares one entry across teams', async () => {
    const before = mock.requests.length;
    expect(status(await chat(alpha, 'cached-global', 'shared prompt'))).toBe('miss');
    await sleep(50);
    const other = await chat(beta, 'cached-global', 'shared prompt');
    expect(other.status).toBe(200);
    expect(status(other)).toBe('hit');
    expect(mock.requests.length).toBe(before + 1);
    // A team invalidation does not reach global entries (they belong to no team).
    await api('POST', '/admin/v1/cache/invalidations', gateway.authHeaders(), { team_id: beta.teamId });
    expect(status(await chat(alpha, 'cached-global', 'shared prompt'))).toBe('hit');
  });
});
