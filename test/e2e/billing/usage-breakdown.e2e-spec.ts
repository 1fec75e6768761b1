import { randomBytes } from 'node:crypto';
import { bearer, call } from 'test/e2e/support/admin-client';
import { member, openaiEntry } from 'test/e2e/security/support';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { UsageRecorder } from 'src/modules/billing/usage-recorder.service';

interface Point {
  bucket: number;
  requests: number;
  clientErrors: number;
  serverErrors: number;
  totalTokens: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
}
interface Series {
  key: string | null;
  label: string;
  other: boolean;
  requests: number;
  points: Point[];
}

const sum = (points: Point[], f: (p: Point) => number) => points.reduce((a, p) => a + f(p), 0);

/** GET /admin/v1/usage/timeseries?groupBy=…: one series per group, checked against the traffic sent. */
describe('usage time series per group (admin API)', () => {
  let gateway: TestGateway;
  let mock: OpenAIMock;
  let teamA: Awaited<ReturnType<typeof member>>;
  let teamB: Awaited<ReturnType<typeof member>>;
  const tokens: Record<string, number> = { 'ep-a': 0, 'ep-b': 0 };
  let query: string;

  const chat = async (key: string, endpoint: string) => {
    const r = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(key) },
      body: JSON.stringify({ model: endpoint, messages: [{ role: 'user', content: `hello ${endpoint}` }] }),
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { usage: { total_tokens: number } };
    tokens[endpoint] += body.usage.total_tokens;
  };

  beforeAll(async () => {
    mock = await startOpenAIMock();
    gateway = await startGateway('endpoints: []\n', {
      env: { GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64') },
    });
    const admin = gateway.authHeaders();
    expect(
      (await call(gateway.url, 'PUT', '/admin/v1/secrets/mock', admin, { value: MOCK_API_KEY })).status,
    ).toBe(200);
    for (const name of ['ep-a', 'ep-b']) {
      const entry = openaiEntry(name, '$secret:mock', `${mock.url}/v1`, `model-${name}`);
      expect((await call(gateway.url, 'POST', '/admin/v1/endpoints', admin, entry)).status).toBe(201);
    }
    teamA = await member(gateway, 'team-a', ['developer']);
    teamB = await member(gateway, 'team-b', ['developer']);
    for (const [team, endpoint] of [
      [teamA, 'ep-a'],
      [teamB, 'ep-b'],
    ] as const) {
      const grant = { teamId: team.teamId, endpointPattern: endpoint };
      expect((await call(gateway.url, 'POST', '/admin/v1/grants', admin, grant)).status).toBe(201);
    }
    for (let i = 0; i < 3; i++) await chat(teamA.key, 'ep-a');
    for (let i = 0; i < 2; i++) await chat(teamB.key, 'ep-b');
    await gateway.app.get(UsageRecorder).flush();
    // Two partial hours and a whole one between them: the roll-up and the raw ledger both answer.
    const now = Date.now();
    const from = new Date(Math.floor(now / 3_600_000) * 3_600_000 - 5_400_000);
    query = `from=${from.toISOString()}&to=${new Date(now + 60_000).toISOString()}&bucket=hour`;
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  const series = async (headers: Record<string, string>, extra: string) => {
    const r = await call(gateway.url, 'GET', `/admin/v1/usage/timeseries?${query}&${extra}`, headers);
    expect(r.status).toBe(200);
    return r.body as { points: Point[]; groupBy: string; series: Series[] };
  };

  it('gives an admin one series per team and per endpoint, with the traffic sent', async () => {
    const byTeam = await series(gateway.authHeaders(), 'groupBy=team');
    expect(byTeam.groupBy).toBe('team');
    expect(byTeam.series.map((s) => [s.key, s.label, s.requests])).toEqual([
      [teamA.teamId, 'team-a', 3],
      [teamB.teamId, 'team-b', 2],
    ]);
    expect(sum(byTeam.points, (p) => p.requests)).toBe(5);
    const byEndpoint = await series(gateway.authHeaders(), 'groupBy=endpoint');
    for (const [name, requests] of [
      ['ep-a', 3],
      ['ep-b', 2],
    ] as const) {
      const s = byEndpoint.series.find((x) => x.key === name)!;
      expect(s.points).toHaveLength(3);
      expect(sum(s.points, (p) => p.requests)).toBe(requests);
      expect(sum(s.points, (p) => p.totalTokens)).toBe(tokens[name]);
      expect(sum(s.points, (p) => p.clientErrors + p.serverErrors)).toBe(0);
      const busy = s.points.filter((p) => p.requests > 0);
      expect(busy).toHaveLength(1);
      expect(busy[0].p95LatencyMs).toBeGreaterThanOrEqual(busy[0].p50LatencyMs!);
    }
    const byModel = await series(gateway.authHeaders(), 'groupBy=model');
    expect(byModel.series.map((s) => [s.key, s.requests])).toEqual([
      ['model-ep-a', 3],
      ['model-ep-b', 2],
    ]);
  });

  it('sums the groups past `top` as "other"', async () => {
    const top1 = await series(gateway.authHeaders(), 'groupBy=endpoint&top=1');
    expect(top1.series.map((s) => [s.key, s.label, s.other, s.requests])).toEqual([
      ['ep-a', 'ep-a', false, 3],
      [null, 'other (1)', true, 2],
    ]);
  });

  it("shows a team without billing.admin its own groups only, and refuses another team's", async () => {
    const mine = await series(bearer(teamB.key), 'groupBy=team');
    expect(mine.series.map((s) => [s.key, s.requests])).toEqual([[teamB.teamId, 2]]);
    const endpoints = await series(bearer(teamB.key), 'groupBy=endpoint');
    expect(endpoints.series.map((s) => [s.key, s.requests])).toEqual([['ep-b', 2]]);
    expect(sum(endpoints.points, (p) => p.requests)).toBe(2);
    const other = await call(
      gateway.url,
      'GET',
      `/admin/v1/usage/timeseries?${query}&groupBy=team&teamId=${teamA.teamId}`,
      bearer(teamB.key),
    );
    expect(other.status).toBe(403);
    const bad = await call(
      gateway.url,
      'GET',
      `/admin/v1/usage/timeseries?${query}&groupBy=colour`,
      bearer(teamB.key),
    );
    expect(bad.status).toBe(400);
  });
});
