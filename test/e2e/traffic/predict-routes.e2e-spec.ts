import { call } from 'test/e2e/support/admin-client';
import { FakeScorer, startFakeScorer } from 'test/e2e/support/fake-scorer';
import { ensurePythonVenv, runPythonJson, SETUP_TIMEOUT_MS } from 'test/e2e/support/python';
import { startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';
import {
  FIXTURE_SCRIPT,
  mlflowApi,
  MlflowProcess,
  serveModel,
  startTrackingServer,
  TrackingServer,
  trainModels,
  versionPortPrefix,
} from 'test/e2e/registry/mlflow-stack';

/*
 * Traffic routes over registry-backed predict endpoints, against a real MLflow: `mlflow server`, churn
 * v1 (y = x) and v2 (y = 10x) registered with MLflow's Python API and served by two real
 * `mlflow models serve` processes, so every answer says which version scored it. The high-count ratio
 * and the 5xx/400 fallbacks use wire-faithful local scoring servers behind two real registry versions
 * of `sentiment` (v1 answers 1, v2 answers 2).
 */
const X3 = { dataframe_split: { columns: ['x'], data: [[3]] } };

interface Scored {
  status: number;
  version: string | null;
  target: string | null;
  attempts: string | null;
  endpoint: string | null;
  prediction: number | undefined;
  body: Record<string, unknown>;
}

interface RolloutView {
  id: string;
  state: string;
  canary_percentage: number;
  reason: string | null;
  history: { event: string; canary_percentage: number }[];
  last_evaluation: { canary: { requests: number; errors: number; error_rate: number } } | null;
}

describe('ml/v1/predict traffic routes (real MLflow registry and scoring servers)', () => {
  let tracking: TrackingServer | undefined;
  const serving: MlflowProcess[] = [];
  let fakeV1: FakeScorer | undefined;
  let fakeV2: FakeScorer | undefined;
  let gw: TestGateway | undefined;

  const score = async (name: string, headers: Record<string, string> = {}, body: unknown = X3) => {
    const response = await fetch(`${gw!.url}/endpoints/${name}/invocations`, {
      method: 'POST',
      headers: { ...gw!.authHeaders(), 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const parsed = (await response.json()) as Record<string, unknown>;
    const predictions = parsed.predictions as number[] | undefined;
    return {
      status: response.status,
      version: response.headers.get('x-gatehouse-model-version'),
      target: response.headers.get('x-gatehouse-target'),
      attempts: response.headers.get('x-gatehouse-attempts'),
      endpoint: response.headers.get('x-gatehouse-endpoint'),
      prediction: predictions ? Math.round(predictions[0]) : undefined,
      body: parsed,
    } satisfies Scored;
  };
  const admin = () => gw!.authHeaders();
  const rollout = async (id: string) =>
    (await call<RolloutView>(gw!.url, 'GET', `/admin/v1/rollouts/${id}`, admin())).body;

  /** `clients` concurrent callers of a route until stopped; every answer's status and prediction. */
  function load(name: string, clients: number) {
    let running = true;
    const answers: { status: number; prediction: number | undefined }[] = [];
    const loops = Array.from({ length: clients }, async () => {
      while (running) {
        const { status, prediction } = await score(name);
        answers.push({ status, prediction });
      }
    });
    return {
      answers,
      stop: async () => {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  beforeAll(async () => {
    await ensurePythonVenv();
    tracking = await startTrackingServer();
    expect(await trainModels(tracking.url)).toEqual({ churn: ['1', '2'], sentiment: ['1'] });
    // A second real registry version of `sentiment` (same artifacts), served by a stand-in.
    expect(await runPythonJson(FIXTURE_SCRIPT, ['copy', tracking.url, 'sentiment', '1'])).toEqual({
      version: '2',
    });
    const prefix = await versionPortPrefix();
    [fakeV1, fakeV2] = await Promise.all([startFakeScorer([1]), startFakeScorer([2])]);
    const tags: [string, string, string][] = [
      ['churn', '1', `http://127.0.0.1:${prefix}1`],
      ['churn', '2', `http://127.0.0.1:${prefix}2`],
      ['sentiment', '1', fakeV1.url],
      ['sentiment', '2', fakeV2.url],
    ];
    for (const [name, version, value] of tags) {
      await mlflowApi(tracking.url, 'POST', 'model-versions/set-tag', {
        name,
        version,
        key: 'gatehouse.serving_url',
        value,
      });
    }
    serving.push(
      ...(await Promise.all(
        [1, 2].map((v) => serveModel(tracking!.url, `models:/churn/${v}`, prefix * 10 + v)),
      )),
    );
    gw = await startGateway(
      `
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: { provider: openai, name: gpt-4o, config: { openai_api_key: sk-never-called } }
  - name: churn-v1
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/1" }
  - name: churn-v2
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/2" }
  - name: sent-v1
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/sentiment/1" }
  - name: sent-v2
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/sentiment/2" }
routes:
  - name: churn
    task_type: ml/v1/predict
    destinations:
      - { name: churn-v1, traffic_percentage: 80 }
      - { name: churn-v2, traffic_percentage: 20 }
    gatehouse: { sticky: header:x-customer }
  - name: sentiment
    task_type: ml/v1/predict
    destinations:
      - { name: sent-v1, traffic_percentage: 90 }
      - { name: sent-v2, traffic_percentage: 10 }
  - name: sentiment-fb
    task_type: ml/v1/predict
    destinations:
      - { name: sent-v2, traffic_percentage: 100 }
    gatehouse: { fallbacks: [sent-v1] }
`,
      {
        env: {
          MLFLOW_TRACKING_URI: tracking.url,
          REGISTRY_SYNC_INTERVAL_MS: '600000',
          // No background pings: a scoring server that dies is seen as refused connections.
          REGISTRY_HEALTH_INTERVAL_MS: '600000',
          ROLLOUT_TICK_MS: '200',
          ROLLOUT_STATS_FLUSH_MS: '200',
        },
      },
    );
    await waitFor(async () => (await score('churn-v2')).status === 200, 30_000);
  }, SETUP_TIMEOUT_MS + 400_000);

  afterAll(async () => {
    await gw?.close();
    await Promise.all(serving.map((p) => p.stop()));
    await tracking?.stop();
    await tracking?.cleanup();
    await Promise.all([fakeV1?.stop(), fakeV2?.stop()]);
  }, 60_000);

  it('splits 80/20 between two registry versions behind real scoring servers; headers name the version', async () => {
    const seen = { '1': 0, '2': 0 };
    for (let i = 0; i < 200; i++) {
      const r = await score('churn');
      expect(r.status).toBe(200);
      // The prediction proves which version scored: v1 = x, v2 = 10x.
      expect(r.prediction).toBe(r.version === '2' ? 30 : 3);
      expect(r.target).toBe(`churn-v${r.version}@${r.version}`);
      expect(r.endpoint).toBe(`churn-v${r.version}`);
      expect(r.attempts).toBe('1');
      seen[r.version as '1' | '2']++;
    }
    expect(seen['1'] + seen['2']).toBe(200);
    // 20% ± 12 points over 200 requests: σ is 2.8 points, so the bounds sit at 4.2 σ (a false failure in
    // about 1 run in 40,000; ± 8 points failed one CI run in a few hundred, with 24 of 200). A split that
    // ignored the weights (50/50, or all to one version) still fails by a wide margin.
    expect(seen['2']).toBeGreaterThanOrEqual(16);
    expect(seen['2']).toBeLessThanOrEqual(64);
  });

  it('keeps a 90/10 split within 2 points over 4,000 requests', async () => {
    const before = [fakeV1!.calls, fakeV2!.calls];
    const versions = { '1': 0, '2': 0 };
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < 4000) {
          const r = await score('sentiment');
          expect(r.status).toBe(200);
          expect(r.prediction).toBe(Number(r.version));
          versions[r.version as '1' | '2']++;
        }
      }),
    );
    expect(versions['1'] + versions['2']).toBe(4000);
    expect([fakeV1!.calls - before[0], fakeV2!.calls - before[1]]).toEqual([versions['1'], versions['2']]);
    expect(Math.abs(versions['2'] / 4000 - 0.1)).toBeLessThan(0.02);
  });

  it('keeps each caller on one version (sticky on a header), about 20% of callers on v2', async () => {
    let onV2 = 0;
    for (let customer = 0; customer < 60; customer++) {
      const versions = new Set<string | null>();
      for (let i = 0; i < 3; i++) {
        const r = await score('churn', { 'x-customer': `customer-${customer}` });
        expect(r.status).toBe(200);
        versions.add(r.version);
      }
      expect(versions.size).toBe(1);
      if (versions.has('2')) onV2++;
    }
    expect(onV2).toBeGreaterThan(3);
    expect(onV2).toBeLessThan(24);
  });

  it('is listed and scored by the real MLflow deployments client', async () => {
    const result = (await runPythonJson(FIXTURE_SCRIPT, ['client', gw!.url, 'churn'], {
      MLFLOW_TRACKING_TOKEN: gw!.apiKey,
    })) as {
      list_endpoints: { name: string; endpoint_type: string }[];
      get_endpoint: unknown;
      predict: { predictions: number[] };
    };
    const names = result.list_endpoints.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['churn', 'sentiment', 'churn-v1']));
    const expected = {
      name: 'churn',
      endpoint_type: 'ml/v1/predict',
      model: { name: 'models:/churn', provider: 'mlflow-model-registry' },
      // The client makes the URL absolute.
      endpoint_url: `${gw!.url}/gateway/churn/invocations`,
      limit: null,
    };
    expect(result.list_endpoints.find((e) => e.name === 'churn')).toEqual(expected);
    expect(result.get_endpoint).toEqual(expected);
    const predicted = result.predict.predictions.map(Math.round);
    expect([
      [2, 4],
      [20, 40],
    ]).toContainEqual(predicted);
  });

  it('falls back to the other version on 503 and on a refused connection, never on the scoring server’s 400', async () => {
    fakeV2!.mode = '503';
    const rescued = await score('sentiment-fb');
    expect(rescued).toMatchObject({
      status: 200,
      prediction: 1,
      version: '1',
      target: 'sent-v1@1',
      attempts: '2',
      endpoint: 'sent-v2',
    });

    fakeV2!.mode = '400';
    const v1Before = fakeV1!.calls;
    const refused = await score('sentiment-fb');
    expect(refused.status).toBe(400);
    expect(refused.attempts).toBe('1');
    expect(refused.target).toBe('sent-v2@2');
    expect(JSON.stringify(refused.body)).toContain('Incompatible input types for column x.');
    expect(JSON.stringify(refused.body)).not.toContain('Traceback');
    expect(fakeV1!.calls).toBe(v1Before);

    fakeV2!.mode = 'ok';
    await fakeV2!.stop();
    try {
      const down = await score('sentiment-fb');
      expect(down).toMatchObject({ status: 200, prediction: 1, target: 'sent-v1@1', attempts: '2' });
      // Without a fallback, the split's caller sees the refused connection as 502.
      const plain = await call(gw!.url, 'POST', '/endpoints/sent-v2/invocations', admin(), X3);
      expect(plain.status).toBe(502);
    } finally {
      await fakeV2!.start();
    }
    expect((await score('sentiment-fb')).prediction).toBe(2);
  });

  it('refuses a route that mixes predict and LLM endpoints, with the reason', async () => {
    const mixed = await call(gw!.url, 'PUT', '/admin/v1/routes/mixed', admin(), {
      name: 'mixed',
      task_type: 'ml/v1/predict',
      destinations: [
        { name: 'churn-v1', traffic_percentage: 50 },
        { name: 'chat', traffic_percentage: 50 },
      ],
    });
    expect(mixed.status).toBe(400);
    expect(JSON.stringify(mixed.body)).toContain(
      "cannot send traffic to 'chat', an llm/v1/chat endpoint: a route splits traffic across ml/v1/predict endpoints (registry models) or across LLM endpoints of one type, never both.",
    );
    const rollout = await call(gw!.url, 'POST', '/admin/v1/rollouts', admin(), {
      route: 'mixed',
      baseline: 'churn-v1',
      canary: 'chat',
    });
    expect(rollout.status).toBe(400);
    expect(rollout.body.message).toContain('must have the same endpoint type');
  });

  it('a progressive rollout from v1 to v2 advances to 100% while v2 is healthy', async () => {
    const created = await call(gw!.url, 'POST', '/admin/v1/rollouts', admin(), {
      route: 'churn-rollout',
      baseline: 'churn-v1',
      canary: 'churn-v2',
      steps: [20, 50, 100],
      hold_seconds: 1,
      min_requests: 5,
      max_error_rate_delta: 0.05,
      max_p95_latency_ratio: 10,
      p95_latency_slack_ms: 500,
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const traffic = load('churn-rollout', 4);
    try {
      await waitFor(async () => (await rollout(id)).state !== 'running', 90_000);
    } finally {
      await traffic.stop();
    }
    const done = await rollout(id);
    expect(done.state).toBe('completed');
    expect(done.history.map((e) => [e.event, e.canary_percentage])).toEqual([
      ['started', 20],
      ['advanced', 50],
      ['advanced', 100],
      ['completed', 100],
    ]);
    expect(done.last_evaluation!.canary.requests).toBeGreaterThanOrEqual(5);
    expect(done.last_evaluation!.canary.error_rate).toBe(0);
    expect(traffic.answers.length).toBeGreaterThan(30);
    expect(traffic.answers.filter((a) => a.status !== 200)).toEqual([]);
    for (let i = 0; i < 10; i++) expect((await score('churn-rollout')).prediction).toBe(30);
  });

  it('rolls back when the canary version’s scoring server is killed, also when fallbacks hide it from callers', async () => {
    // A route with fallbacks to the baseline: callers never see the canary fail, the judge does.
    const route = await call(gw!.url, 'PUT', '/admin/v1/routes/churn-rb-fb', admin(), {
      name: 'churn-rb-fb',
      task_type: 'ml/v1/predict',
      destinations: [
        { name: 'churn-v1', traffic_percentage: 100 },
        { name: 'churn-v2', traffic_percentage: 0 },
      ],
      gatehouse: { fallbacks: ['churn-v1'] },
    });
    expect(route.status).toBe(200);
    const plan = {
      baseline: 'churn-v1',
      canary: 'churn-v2',
      steps: [20, 50, 100],
      hold_seconds: 60,
      min_requests: 5,
      max_error_rate_delta: 0.1,
      max_p95_latency_ratio: 10,
      p95_latency_slack_ms: 500,
    };
    const ids: string[] = [];
    for (const name of ['churn-rb', 'churn-rb-fb']) {
      const created = await call(gw!.url, 'POST', '/admin/v1/rollouts', admin(), { route: name, ...plan });
      expect(created.status).toBe(201);
      ids.push(created.body.id as string);
    }
    const plain = load('churn-rb', 3);
    const rescued = load('churn-rb-fb', 3);
    try {
      // Healthy at first: the leader judged real canary traffic and found no error.
      await waitFor(async () => {
        const views = await Promise.all(ids.map(rollout));
        return views.every((v) => (v.last_evaluation?.canary.requests ?? 0) >= 3);
      }, 60_000);
      for (const id of ids) {
        const healthy = await rollout(id);
        expect(healthy).toMatchObject({ state: 'running', canary_percentage: 20 });
        expect(healthy.last_evaluation!.canary.errors).toBe(0);
      }
      await serving[1].stop(); // churn v2's `mlflow models serve`
      await waitFor(async () => {
        const views = await Promise.all(ids.map(rollout));
        return views.every((v) => v.state !== 'running');
      }, 60_000);
    } finally {
      await Promise.all([plain.stop(), rescued.stop()]);
    }
    for (const id of ids) {
      const after = await rollout(id);
      expect(after.state).toBe('rolled_back');
      expect(after.canary_percentage).toBe(0);
      expect(after.reason).toContain('canary error rate');
      expect(after.history.map((e) => e.event)).toEqual(['started', 'rolled_back']);
    }
    expect(plain.answers.filter((a) => a.status === 502).length).toBeGreaterThan(0);
    // Every caller of the route with fallbacks was answered, by v1 once v2 died.
    expect(rescued.answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(rescued.answers.length).toBeGreaterThan(10);
    // All traffic is back on v1.
    for (const name of ['churn-rb', 'churn-rb-fb']) {
      for (let i = 0; i < 10; i++) expect(await score(name)).toMatchObject({ status: 200, prediction: 3 });
    }
  });
});
