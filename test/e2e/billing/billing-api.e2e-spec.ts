import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { bearer, call } from 'test/e2e/support/admin-client';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';

interface Seed {
  team: string | null;
  key?: string | null;
  principal?: string | null;
  at: string;
  endpoint: string;
  provider?: string;
  model: string;
  outcome?: 'success' | 'error' | 'cache_hit' | 'cancelled';
  status?: number;
  prompt?: number | null;
  completion?: number | null;
  cost?: string | null;
  latency: number;
  requestId?: string;
}

/** Usage queries, group-bys, filters, chargeback JSON/CSV and team scoping over a known ledger. */
describe('billing API', () => {
  let gateway: TestGateway;
  let admin: Record<string, string>;
  let teamA: string;
  let teamB: string;
  let viewerA: { key: string; principalId: string; keyId: string };
  let loneViewer: { key: string; principalId: string };
  const api = (path: string, headers = admin) => call(gateway.url, 'GET', path, headers);

  async function principal(teamId: string | null, roles: string[], name: string) {
    const created = await call(gateway.url, 'POST', '/admin/v1/principals', admin, {
      kind: 'user',
      name,
      teamId,
      roles,
    });
    expect(created.status).toBe(201);
    const key = await call(gateway.url, 'POST', '/admin/v1/keys', admin, {
      name: 'k',
      principalId: created.body.id,
    });
    expect(key.status).toBe(201);
    return {
      key: key.body.key as string,
      principalId: created.body.id as string,
      keyId: key.body.id as string,
    };
  }

  async function seed(rows: Seed[]): Promise<void> {
    const client = new Client({ connectionString: gateway.databaseUrl });
    await client.connect();
    try {
      for (const r of rows) {
        await client.query(
          `INSERT INTO usage_records (id, request_id, started_at, finished_at, surface, operation, team_id,
             api_key_id, principal_id, endpoint, provider, model, outcome, status, prompt_tokens,
             completion_tokens, cost_usd, latency_ms, cache_hit, attempts)
           VALUES ($1, $2, $3, $3::timestamptz + interval '1 second', 'openai', 'chat', $4, $5, $6, $7, $8, $9,
             $10, $11, $12, $13, $14, $15, $16, $17)`,
          [
            randomUUID(),
            r.requestId ?? randomUUID(),
            r.at,
            r.team,
            r.key ?? null,
            r.principal ?? null,
            r.endpoint,
            r.provider ?? 'openai',
            r.model,
            r.outcome ?? 'success',
            r.status ?? 200,
            r.prompt === undefined ? 10 : r.prompt,
            r.completion === undefined ? 5 : r.completion,
            r.cost === undefined ? '0.001' : r.cost,
            r.latency,
            r.outcome === 'cache_hit',
            r.outcome === 'cache_hit' ? 0 : 1,
          ],
        );
      }
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    gateway = await startGateway('endpoints: []\n');
    admin = gateway.authHeaders();
    teamA = (await call(gateway.url, 'POST', '/admin/v1/teams', admin, { name: 'team-a' })).body.id;
    teamB = (await call(gateway.url, 'POST', '/admin/v1/teams', admin, { name: 'team-b' })).body.id;
    viewerA = await principal(teamA, ['viewer'], 'viewer-a');
    loneViewer = await principal(null, ['viewer'], 'lone-viewer');
    await seed([
      // team A, Oct 1: three chat calls through viewer A's key
      {
        team: teamA,
        key: viewerA.keyId,
        at: '2026-10-01T09:00:00Z',
        endpoint: 'chat',
        model: 'gpt-4o-mini',
        latency: 100,
        requestId: 'page-1',
      },
      {
        team: teamA,
        key: viewerA.keyId,
        at: '2026-10-01T10:00:00Z',
        endpoint: 'chat',
        model: 'gpt-4o-mini',
        latency: 200,
        requestId: 'page-2',
      },
      {
        team: teamA,
        key: viewerA.keyId,
        at: '2026-10-01T11:00:00Z',
        endpoint: 'chat',
        model: 'gpt-4o-mini',
        latency: 300,
        requestId: 'page-3',
      },
      // team A, Oct 2: an upstream error (no tokens, no price) and a cache hit (free)
      {
        team: teamA,
        at: '2026-10-02T08:00:00Z',
        endpoint: 'embed',
        model: 'text-embedding-3-small',
        outcome: 'error',
        status: 502,
        prompt: null,
        completion: null,
        cost: null,
        latency: 50,
      },
      {
        team: teamA,
        at: '2026-10-02T09:00:00Z',
        endpoint: 'chat',
        model: 'gpt-4o-mini',
        outcome: 'cache_hit',
        cost: '0',
        latency: 5,
      },
      // team B, Oct 3: an expensive model whose name needs CSV quoting, on an endpoint named like a formula
      {
        team: teamB,
        at: '2026-10-03T12:00:00Z',
        endpoint: '=HYPERLINK("x")',
        provider: 'anthropic',
        model: 'claude,"big"',
        prompt: 1000,
        completion: 500,
        cost: '0.0123456789',
        latency: 1000,
      },
      {
        team: teamB,
        at: '2026-10-03T13:00:00Z',
        endpoint: 'chat',
        model: 'gpt-4o-mini',
        outcome: 'cancelled',
        prompt: 3,
        completion: 1,
        cost: '0.0000001',
        latency: 40,
      },
      // no team: the lone viewer's own request
      {
        team: null,
        principal: loneViewer.principalId,
        at: '2026-10-03T14:00:00Z',
        endpoint: 'chat',
        model: 'gpt-4o-mini',
        latency: 70,
      },
      // outside the period (September)
      { team: teamA, at: '2026-09-30T23:59:59Z', endpoint: 'chat', model: 'gpt-4o-mini', latency: 10 },
    ]);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  const OCT = 'from=2026-10-01&to=2026-10-31';

  it('sums a period: requests, tokens, cost, errors, cache hits, latency', async () => {
    const res = await api(`/admin/v1/usage?${OCT}`);
    expect(res.status).toBe(200);
    expect(res.body.from).toBe('2026-10-01T00:00:00.000Z');
    // A date-only `to` includes that whole day.
    expect(res.body.to).toBe('2026-11-01T00:00:00.000Z');
    expect(res.body.totals).toMatchObject({
      requests: 8,
      promptTokens: 10 * 5 + 1000 + 3,
      completionTokens: 5 * 5 + 500 + 1,
      totalTokens: 75 + 1500 + 4,
      unpricedRequests: 1,
      errors: 1,
      cacheHits: 1,
      cancelled: 1,
    });
    expect(res.body.totals.costUsd).toBeCloseTo(0.004 + 0.0123456789 + 0.0000001, 10);
  });

  it('groups by team with names, and by day', async () => {
    const byTeam = await api(`/admin/v1/usage?${OCT}&groupBy=team`);
    expect(byTeam.status).toBe(200);
    const groups = byTeam.body.groups as {
      teamId: string | null;
      teamName: string | null;
      requests: number;
    }[];
    expect(groups.map((g) => [g.teamName, g.requests])).toEqual(
      expect.arrayContaining([
        ['team-a', 5],
        ['team-b', 2],
        [null, 1],
      ]),
    );
    const a = byTeam.body.groups.find((g: { teamId: string }) => g.teamId === teamA);
    expect(a).toMatchObject({ errors: 1, cacheHits: 1, unpricedRequests: 1, avgLatencyMs: 131 });
    const byDay = await api(`/admin/v1/usage?${OCT}&groupBy=day`);
    expect(byDay.body.groups.map((g: { day: string; requests: number }) => [g.day, g.requests])).toEqual([
      ['2026-10-01', 3],
      ['2026-10-02', 2],
      ['2026-10-03', 3],
    ]);
  });

  it('groups by key, endpoint, model and combinations, with p95 latency', async () => {
    const byKey = await api(`/admin/v1/usage?${OCT}&groupBy=key`);
    const keyed = byKey.body.groups.find((g: { keyId: string }) => g.keyId === viewerA.keyId);
    expect(keyed).toMatchObject({ keyName: 'k', requests: 3, avgLatencyMs: 200, p95LatencyMs: 290 });
    const byModel = await api(`/admin/v1/usage?${OCT}&groupBy=model`);
    expect(byModel.body.groups).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          provider: 'anthropic',
          model: 'claude,"big"',
          requests: 1,
          promptTokens: 1000,
        }),
        expect.objectContaining({ provider: 'openai', model: 'gpt-4o-mini', requests: 6 }),
      ]),
    );
    const byTeamAndEndpoint = await api(`/admin/v1/usage?${OCT}&groupBy=team,endpoint`);
    expect(
      byTeamAndEndpoint.body.groups.find(
        (g: { teamId: string; endpoint: string }) => g.teamId === teamA && g.endpoint === 'chat',
      ),
    ).toMatchObject({ requests: 4, promptTokens: 40 });
    expect(byTeamAndEndpoint.body.groupBy).toEqual(['team', 'endpoint']);
  });

  it('filters by team, endpoint, model, outcome, status and time', async () => {
    const q = async (filters: string): Promise<number> =>
      (await api(`/admin/v1/usage?${OCT}&${filters}`)).body.totals.requests as number;
    expect(await q(`teamId=${teamB}`)).toBe(2);
    expect(await q('endpoint=embed')).toBe(1);
    expect(await q('model=gpt-4o-mini')).toBe(6);
    expect(await q('outcome=error')).toBe(1);
    expect(await q('status=502')).toBe(1);
    expect(await q(`apiKeyId=${viewerA.keyId}`)).toBe(3);
    const september = await api('/admin/v1/usage?from=2026-09-01&to=2026-09-30');
    expect(september.body.totals.requests).toBe(1);
    const hours = await api('/admin/v1/usage?from=2026-10-01T09:30:00Z&to=2026-10-01T11:00:00Z');
    expect(hours.body.totals.requests).toBe(1);
  });

  it('refuses bad query parameters with a 400 in the admin envelope', async () => {
    for (const query of [
      'from=yesterday',
      'from=2026-13-01',
      'to=2026-10-01T25:00:00Z',
      'from=2026-10-05&to=2026-10-01',
      'groupBy=colour',
      'limit=0',
      'status=abc',
      'outcome=maybe',
      'unknown=1',
    ]) {
      const res = await api(`/admin/v1/usage?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      expect(res.body).toMatchObject({ code: 'invalid_request', requestId: expect.any(String) });
      expect(JSON.stringify(res.body)).not.toMatch(/at \w+ \(|node_modules|SELECT/);
    }
    const csv = await api('/admin/v1/chargeback?format=xml');
    expect(csv.status).toBe(400);
    const cursor = await api('/admin/v1/usage/records?before=bm90LWEtY3Vyc29y');
    expect(cursor.status).toBe(400);
  });

  it('produces a chargeback report per team with lines per endpoint and model (JSON)', async () => {
    const res = await api(`/admin/v1/chargeback?${OCT}`);
    expect(res.status).toBe(200);
    expect(res.body.period).toEqual({ from: '2026-10-01T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z' });
    expect(res.body.currency).toBe('USD');
    const a = res.body.teams.find((t: { teamId: string }) => t.teamId === teamA);
    expect(a).toMatchObject({ teamName: 'team-a', requests: 5, costUsd: 0.003, unpricedRequests: 1 });
    expect(a.lines).toHaveLength(2);
    const b = res.body.teams.find((t: { teamId: string }) => t.teamId === teamB);
    expect(b).toMatchObject({ teamName: 'team-b', requests: 2, costUsd: 0.0123457789 });
    expect(res.body.totals).toMatchObject({ requests: 8, costUsd: 0.0163457789 });
  });

  it('downloads the chargeback as CSV with proper quoting', async () => {
    const response = await fetch(`${gateway.url}/admin/v1/chargeback?${OCT}&format=csv`, { headers: admin });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(
      'attachment; filename="chargeback_2026-10-01_2026-10-31.csv"',
    );
    const text = await response.text();
    const lines = text.split('\r\n');
    expect(lines[lines.length - 1]).toBe('');
    expect(lines[0]).toBe(
      'period_start,period_end,team_id,team_name,endpoint,provider,model,requests,prompt_tokens,completion_tokens,total_tokens,cost_usd,unpriced_requests,errors,cache_hits',
    );
    // team A: chat/gpt-4o-mini and embed; team B: formula-named endpoint and chat; no team: chat
    expect(lines).toHaveLength(1 + 5 + 1);
    expect(lines).toContain(
      `2026-10-01T00:00:00.000Z,2026-11-01T00:00:00.000Z,${teamB},team-b,"'=HYPERLINK(""x"")",anthropic,"claude,""big""",1,1000,500,1500,0.0123456789,0,0,0`,
    );
    expect(lines).toContain(
      `2026-10-01T00:00:00.000Z,2026-11-01T00:00:00.000Z,${teamA},team-a,chat,openai,gpt-4o-mini,4,40,20,60,0.0030000000,0,0,1`,
    );
    expect(lines.some((l) => l.includes(',(no team),chat,'))).toBe(true);
  });

  it('lists individual records, newest first, with a cursor', async () => {
    const first = await api(`/admin/v1/usage/records?${OCT}&teamId=${teamA}&endpoint=chat&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.records.map((r: { requestId: string }) => r.requestId)).toEqual([
      expect.any(String),
      'page-3',
    ]);
    const second = await api(
      `/admin/v1/usage/records?${OCT}&teamId=${teamA}&endpoint=chat&limit=2&before=${first.body.next}`,
    );
    expect(second.body.records.map((r: { requestId: string }) => r.requestId)).toEqual(['page-2', 'page-1']);
    const one = await api(`/admin/v1/usage/records?${OCT}&requestId=page-2`);
    expect(one.body.records).toHaveLength(1);
    expect(one.body.records[0]).toMatchObject({ teamId: teamA, apiKeyId: viewerA.keyId, latencyMs: 200 });
  });

  it("shows a billing.read caller only its own team's usage", async () => {
    const own = bearer(viewerA.key);
    const usage = await api(`/admin/v1/usage?${OCT}&groupBy=team`, own);
    expect(usage.status).toBe(200);
    expect(usage.body.totals.requests).toBe(5);
    expect(usage.body.groups.map((g: { teamId: string }) => g.teamId)).toEqual([teamA]);
    const other = await api(`/admin/v1/usage?${OCT}&teamId=${teamB}`, own);
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('permission_denied');
    const chargeback = await api(`/admin/v1/chargeback?${OCT}`, own);
    expect(chargeback.body.teams.map((t: { teamId: string }) => t.teamId)).toEqual([teamA]);
    const records = await api(`/admin/v1/usage/records?${OCT}&limit=100`, own);
    expect(records.body.records).toHaveLength(5);
    // The writer's status is for billing admins.
    expect((await api('/admin/v1/usage/ledger', own)).status).toBe(403);
    // Without a team, a caller sees its own requests only.
    const lone = await api(`/admin/v1/usage?${OCT}`, bearer(loneViewer.key));
    expect(lone.body.totals.requests).toBe(1);
  });

  it("reports this replica's ledger writer to billing admins", async () => {
    const res = await api('/admin/v1/usage/ledger');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ buffered: 0, dropped: 0, degraded: false, lastError: null });
  });
});
