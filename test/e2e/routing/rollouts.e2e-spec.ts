import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { call, chatBody } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';

jest.setTimeout(120_000);

interface RolloutView {
  id: string;
  state: string;
  canary_percentage: number;
  reason: string | null;
  history: { event: string; canary_percentage: number }[];
  last_evaluation: { canary: { requests: number; errors: number; error_rate: number } } | null;
}

interface Load {
  statuses: number[];
  stop(): Promise<void>;
}

describe('progressive rollouts', () => {
  let stable: OpenAIMock;
  let candidate: OpenAIMock;
  let doomed: OpenAIMock;
  let gw: TestGateway;
  const admin = () => gw.authHeaders();

  /** `clients` concurrent callers of `model` until stopped. */
  function load(model: string, clients: number): Load {
    let running = true;
    const statuses: number[] = [];
    const loops = Array.from({ length: clients }, async () => {
      while (running) {
        const r = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...admin() },
          body: JSON.stringify(chatBody(model)),
        });
        await r.arrayBuffer();
        statuses.push(r.status);
      }
    });
    return {
      statuses,
      stop: async () => {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  async function rollout(id: string): Promise<RolloutView> {
    return (await call<RolloutView>(gw.url, 'GET', `/admin/v1/rollouts/${id}`, admin())).body;
  }

  async function upstreamOf(model: string, n: number): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    const mocks = { stable, candidate, doomed };
    const before = Object.fromEntries(Object.entries(mocks).map(([k, m]) => [k, m.requests.length]));
    for (let i = 0; i < n; i++) {
      expect((await call(gw.url, 'POST', '/v1/chat/completions', admin(), chatBody(model))).status).toBe(200);
    }
    for (const [k, m] of Object.entries(mocks)) {
      const seen = m.requests.length - before[k];
      if (seen > 0) counts[k] = seen;
    }
    return counts;
  }

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    [stable, candidate, doomed] = await Promise.all([
      startOpenAIMock(),
      startOpenAIMock(),
      startOpenAIMock(),
    ]);
    const yaml = `endpoints:\n${[
      openaiEndpoint('stable', 'gpt-stable', stable.url),
      openaiEndpoint('candidate', 'gpt-new', candidate.url),
      openaiEndpoint('doomed', 'gpt-doomed', doomed.url),
    ].join('')}
routes:
  - name: file-route
    task_type: llm/v1/chat
    destinations:
      - name: stable
        traffic_percentage: 100
`;
    gw = await startGateway(yaml, { env: { ROLLOUT_TICK_MS: '200', ROLLOUT_STATS_FLUSH_MS: '200' } });
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([stable?.close(), candidate?.close(), doomed?.close()]);
  });

  it('advances a healthy canary step by step to 100%, each step an audited route revision', async () => {
    const created = await call(gw.url, 'POST', '/admin/v1/rollouts', admin(), {
      route: 'chat',
      baseline: 'stable',
      canary: 'candidate',
      steps: [10, 50, 100],
      hold_seconds: 1,
      min_requests: 5,
      max_error_rate_delta: 0.05,
      // The machine is shared and loaded: latency is judged, with room for its noise.
      max_p95_latency_ratio: 10,
      p95_latency_slack_ms: 500,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      state: 'running',
      step: 1,
      canary_percentage: 10,
      steps: [10, 50, 100],
    });
    const id = created.body.id as string;

    const traffic = load('chat', 8);
    try {
      await waitFor(async () => (await rollout(id)).state !== 'running', 60_000);
    } finally {
      await traffic.stop();
    }
    const done = await rollout(id);
    expect(done.state).toBe('completed');
    expect(done.canary_percentage).toBe(100);
    expect(
      done.history.map((e: { event: string; canary_percentage: number }) => [e.event, e.canary_percentage]),
    ).toEqual([
      ['started', 10],
      ['advanced', 50],
      ['advanced', 100],
      ['completed', 100],
    ]);
    expect(done.last_evaluation!.canary.requests).toBeGreaterThanOrEqual(5);
    expect(done.last_evaluation!.canary.error_rate).toBe(0);
    // Zero failed requests while the weights moved three times.
    expect(traffic.statuses.length).toBeGreaterThan(30);
    expect(traffic.statuses.filter((s) => s !== 200)).toEqual([]);

    const revisions = await call(gw.url, 'GET', '/admin/v1/routes/chat/revisions', admin());
    const weights = revisions.body.revisions
      .map((r: { action: string; after: { destinations: { traffic_percentage: number }[] } }) => [
        r.action,
        r.after.destinations.map((d) => d.traffic_percentage),
      ])
      .reverse();
    expect(weights).toEqual([
      ['rollout', [90, 10]],
      ['rollout', [50, 50]],
      ['rollout', [0, 100]],
    ]);
    expect(revisions.body.revisions[0].actor.name).toBe(`rollout:${id}`);
    expect(await upstreamOf('chat', 10)).toEqual({ candidate: 10 });

    const audit = await call(
      gw.url,
      'GET',
      '/admin/v1/audit?targetType=routing.route&targetId=chat',
      admin(),
    );
    // Steps 2 and 3 are the controller's own revisions; revision 1 came with the admin's request and
    // is recorded in that request's one audit row (rollout.create), not in a second row.
    expect(audit.body.entries).toHaveLength(2);
    expect(audit.body.entries[0]).toMatchObject({
      action: 'routing.route.rollout',
      actorName: `rollout:${id}`,
    });
    const started = await call(gw.url, 'GET', `/admin/v1/audit?targetType=rollout&targetId=${id}`, admin());
    expect(started.body.entries.map((e: { action: string }) => e.action)).toEqual([
      'rollout.complete',
      'rollout.create',
    ]);
    expect(started.body.entries[1].after.history[0]).toMatchObject({ event: 'started', route_revision: 1 });
  });

  it('rolls back automatically when the canary starts failing', async () => {
    const created = await call(gw.url, 'POST', '/admin/v1/rollouts', admin(), {
      route: 'chat2',
      baseline: 'stable',
      canary: 'doomed',
      steps: [20, 50, 100],
      hold_seconds: [30, 30, 30],
      min_requests: 5,
      max_error_rate_delta: 0.1,
      max_p95_latency_ratio: 10,
      p95_latency_slack_ms: 500,
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const traffic = load('chat2', 8);
    try {
      // Healthy at first: the leader has judged real canary traffic.
      await waitFor(async () => ((await rollout(id)).last_evaluation?.canary.requests ?? 0) >= 3, 30_000);
      const healthy = await rollout(id);
      expect(healthy).toMatchObject({ state: 'running', canary_percentage: 20 });
      expect(healthy.last_evaluation!.canary.errors).toBe(0);
      // The canary's server goes away: its requests now fail (502).
      await doomed.close();
      await waitFor(async () => (await rollout(id)).state !== 'running', 30_000);
    } finally {
      await traffic.stop();
    }
    const after = await rollout(id);
    expect(after.state).toBe('rolled_back');
    expect(after.canary_percentage).toBe(0);
    expect(after.reason).toContain('canary error rate');
    expect(after.history.map((e: { event: string }) => e.event)).toEqual(['started', 'rolled_back']);
    expect(traffic.statuses.filter((s) => s === 502).length).toBeGreaterThan(0);

    const route = await call(gw.url, 'GET', '/admin/v1/routes/chat2', admin());
    expect(route.body.entry.destinations).toEqual([
      { name: 'stable', traffic_percentage: 100 },
      { name: 'doomed', traffic_percentage: 0 },
    ]);
    // Back to the exact previous behaviour: every request to the baseline, none fails.
    expect(await upstreamOf('chat2', 20)).toEqual({ stable: 20 });
  });

  it('can be paused, resumed and aborted; owns the route while live; refuses bad plans', async () => {
    const created = await call(gw.url, 'POST', '/admin/v1/rollouts', admin(), {
      route: 'chat3',
      baseline: 'stable',
      canary: 'candidate',
      steps: [25, 100],
      hold_seconds: 3600,
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    const again = await call(gw.url, 'POST', '/admin/v1/rollouts', admin(), {
      route: 'chat3',
      baseline: 'stable',
      canary: 'candidate',
    });
    expect(again.status).toBe(409);
    const manual = await call(gw.url, 'PUT', '/admin/v1/routes/chat3', admin(), {
      name: 'chat3',
      task_type: 'llm/v1/chat',
      destinations: [{ name: 'stable', traffic_percentage: 100 }],
    });
    expect(manual.status).toBe(409);
    expect(manual.body.message).toContain(id);

    const paused = await call(gw.url, 'POST', `/admin/v1/rollouts/${id}/pause`, admin());
    expect(paused.body).toMatchObject({ state: 'paused', canary_percentage: 25 });
    expect((await call(gw.url, 'POST', `/admin/v1/rollouts/${id}/pause`, admin())).status).toBe(409);
    const resumed = await call(gw.url, 'POST', `/admin/v1/rollouts/${id}/resume`, admin());
    expect(resumed.body.state).toBe('running');
    const aborted = await call(gw.url, 'POST', `/admin/v1/rollouts/${id}/abort`, admin());
    expect(aborted.body).toMatchObject({ state: 'aborted', canary_percentage: 0 });
    expect(aborted.body.history.map((e: { event: string }) => e.event)).toEqual([
      'started',
      'paused',
      'resumed',
      'aborted',
    ]);
    expect(await upstreamOf('chat3', 8)).toEqual({ stable: 8 });
    expect((await call(gw.url, 'POST', `/admin/v1/rollouts/${id}/resume`, admin())).status).toBe(409);

    const list = await call(gw.url, 'GET', '/admin/v1/rollouts', admin());
    expect(list.body.map((r: { route: string }) => r.route)).toEqual(['chat3', 'chat2', 'chat']);

    const bad = (body: Record<string, unknown>) => call(gw.url, 'POST', '/admin/v1/rollouts', admin(), body);
    const base = { route: 'chat4', baseline: 'stable', canary: 'candidate' };
    expect((await bad({ ...base, steps: [5, 50] })).status).toBe(400);
    expect((await bad({ ...base, steps: [50, 25, 100] })).status).toBe(400);
    expect((await bad({ ...base, hold_seconds: [1, 2] })).status).toBe(400);
    expect((await bad({ ...base, canary: 'nope' })).status).toBe(400);
    expect((await bad({ ...base, canary: 'stable' })).status).toBe(400);
    expect((await bad({ ...base, extra: true })).status).toBe(400);
    const fileRoute = await bad({ ...base, route: 'file-route' });
    expect(fileRoute.status).toBe(409);
    expect(fileRoute.body.message).toContain('gateway config file');
    expect((await call(gw.url, 'GET', '/admin/v1/rollouts/not-a-uuid', admin())).status).toBe(400);
    expect(
      (await call(gw.url, 'GET', '/admin/v1/rollouts/00000000-0000-4000-8000-000000000000', admin())).status,
    ).toBe(404);
  });
});
