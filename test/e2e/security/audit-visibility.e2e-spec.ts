import { bearer, call, JsonResponse } from 'test/e2e/support/admin-client';
import { startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';

jest.setTimeout(60_000);

interface Member {
  id: string;
  headers: Record<string, string>;
}

interface Entry {
  actorId: string | null;
  teamId: string | null;
  outcome: string;
}

/** Who reads which audit rows: admins all, team members their team's, teamless principals their own. */
describe('audit log visibility', () => {
  let gateway: TestGateway;
  let teamA: string;
  let loneOne: Member;
  let loneTwo: Member;
  let operatorA: Member;
  const api = (
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<JsonResponse> => call(gateway.url, method, path, headers, body);

  async function member(name: string, teamId: string | null): Promise<Member> {
    const admin = gateway.authHeaders();
    const principal = await api('POST', '/admin/v1/principals', admin, {
      kind: 'user',
      name,
      teamId,
      roles: ['operator'],
    });
    expect(principal.status).toBe(201);
    const key = await api('POST', '/admin/v1/keys', admin, {
      name: `${name}-key`,
      principalId: principal.body.id,
    });
    expect(key.status).toBe(201);
    return { id: principal.body.id as string, headers: bearer(key.body.key as string) };
  }

  const entries = async (who: Member | Record<string, string>, query = ''): Promise<Entry[]> => {
    const headers = 'headers' in who ? (who.headers as Record<string, string>) : who;
    const answer = await api('GET', `/admin/v1/audit${query}`, headers);
    expect(answer.status).toBe(200);
    return answer.body.entries as Entry[];
  };

  beforeAll(async () => {
    gateway = await startGateway('endpoints: []\n');
    const team = await api('POST', '/admin/v1/teams', gateway.authHeaders(), { name: 'alpha' });
    teamA = team.body.id as string;
    loneOne = await member('lone-one', null);
    loneTwo = await member('lone-two', null);
    operatorA = await member('operator-a', teamA);
    // Teamless rows by each: a change (its own key) and a denial (secrets need secrets.read).
    for (const who of [loneOne, loneTwo]) {
      expect((await api('POST', '/admin/v1/keys', who.headers, { name: 'mine' })).status).toBe(201);
      expect((await api('GET', '/admin/v1/secrets', who.headers)).status).toBe(403);
    }
    expect((await api('GET', '/admin/v1/secrets', operatorA.headers)).status).toBe(403);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('a teamless non-admin sees only the rows it caused, not every teamless row', async () => {
    const mine = await entries(loneOne);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine.every((e) => e.actorId === loneOne.id)).toBe(true);
    expect(mine.map((e) => e.outcome).sort()).toEqual(expect.arrayContaining(['denied', 'success']));
    // Asking for another principal's rows shows nothing (no oracle).
    expect(await entries(loneOne, `?actorId=${loneTwo.id}`)).toEqual([]);
    const theirs = await entries(loneTwo);
    expect(theirs.length).toBeGreaterThanOrEqual(2);
    expect(theirs.every((e) => e.actorId === loneTwo.id)).toBe(true);
  });

  it('records a refusal by the ownership model as a denial', async () => {
    const refused = await api('POST', '/admin/v1/cache/invalidations', operatorA.headers, { all: true });
    expect(refused.status).toBe(403);
    // Denials are written without delaying the answer.
    await waitFor(async () => (await entries(operatorA, '?action=tenancy.authorize')).length > 0);
    const denials = await entries(operatorA, '?action=tenancy.authorize');
    expect(denials).toHaveLength(1);
    expect(denials[0]).toMatchObject({ actorId: operatorA.id, outcome: 'denied', teamId: teamA });
  });

  it('a team member sees its team rows only; an admin sees everyone', async () => {
    const team = await entries(operatorA);
    expect(team.length).toBeGreaterThanOrEqual(1);
    expect(team.every((e) => e.teamId === teamA)).toBe(true);
    const all = await entries(gateway.authHeaders(), '?limit=500');
    const actors = new Set(all.map((e) => e.actorId));
    for (const who of [loneOne, loneTwo, operatorA]) expect(actors.has(who.id)).toBe(true);
  });
});
