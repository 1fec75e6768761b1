import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { signWebhook } from 'src/modules/registry/webhook-signature';
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
 * Gatehouse against a real MLflow: `mlflow server` (SQLite), two versions of a scikit-learn model
 * registered through MLflow's Python API and served by `mlflow models serve --env-manager local`.
 * churn v1 predicts y = x, churn v2 predicts y = 10x, so every answer tells which version served it.
 */
const SECRET = 'whsec-e2e-registry';
const X3 = { dataframe_split: { columns: ['x'], data: [[3]] } };

interface Answer {
  status: number;
  version: string | null;
  body: { predictions?: number[]; detail?: { error_code: string; message: string } | string };
}

describe('MLflow Model Registry sync and model-serving routes (real MLflow)', () => {
  let tracking: TrackingServer | undefined;
  const scoring: MlflowProcess[] = [];
  let hung: Server | undefined;
  let gateway: TestGateway | undefined;
  let prefix = 0;

  const post = async (path: string, body: unknown, contentType = 'application/json'): Promise<Answer> => {
    const response = await fetch(`${gateway!.url}${path}`, {
      method: 'POST',
      headers: { ...gateway!.authHeaders(), 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      version: response.headers.get('x-gatehouse-model-version'),
      body: (text ? JSON.parse(text) : {}) as Answer['body'],
    };
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, asserted field by field
  const get = async (path: string): Promise<{ status: number; body: any }> => {
    const response = await fetch(`${gateway!.url}${path}`, { headers: gateway!.authHeaders() });
    return { status: response.status, body: await response.json() };
  };
  const sync = () =>
    fetch(`${gateway!.url}/admin/v1/registry/sync`, { method: 'POST', headers: gateway!.authHeaders() });
  const invoke = (name: string, body: unknown = X3) => post(`/endpoints/${name}/invocations`, body);

  beforeAll(async () => {
    await ensurePythonVenv();
    tracking = await startTrackingServer();
    const registered = await trainModels(tracking.url);
    expect(registered).toEqual({ churn: ['1', '2'], sentiment: ['1'] });
    prefix = await versionPortPrefix();
    const url = (version: number) => `http://127.0.0.1:${prefix}${version}`;
    await mlflowApi(tracking.url, 'POST', 'registered-models/alias', {
      name: 'churn',
      alias: 'champion',
      version: '1',
    });
    for (const version of [1, 2]) {
      await mlflowApi(tracking.url, 'POST', 'model-versions/set-tag', {
        name: 'churn',
        version: String(version),
        key: 'gatehouse.serving_url',
        value: url(version),
      });
    }
    await mlflowApi(tracking.url, 'POST', 'model-versions/transition-stage', {
      name: 'churn',
      version: '2',
      stage: 'Staging',
      archive_existing_versions: false,
    });
    // A scoring server that is up (/ping) but never answers /invocations: the timeout fault.
    hung = createServer((request, response) => {
      if (request.url?.endsWith('/ping')) response.end('\n');
    });
    await new Promise<void>((done) => hung!.listen(0, '127.0.0.1', done));
    const hungPort = (hung.address() as AddressInfo).port;

    const serving = Promise.all(
      [1, 2].map((v) => serveModel(tracking!.url, `models:/churn/${v}`, prefix * 10 + v)),
    );
    gateway = await startGateway(
      `
endpoints:
  - name: churn
    endpoint_type: ml/v1/predict
    model:
      provider: mlflow-model-registry
      name: models:/churn@champion
    gatehouse:
      path: /predict/churn
  - name: churn-challenger
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn@challenger" }
  - name: churn-cached
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn@cached" }
    gatehouse:
      cache: {}
  - name: churn-v1
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/1" }
  - name: churn-staging
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/staging" }
  - name: sentiment-templated
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/sentiment/1" }
    gatehouse:
      serving_url_template: "http://127.0.0.1:${prefix}{version}"
  - name: sentiment-slow
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/sentiment/1" }
    gatehouse:
      serving_url_template: "http://127.0.0.1:${hungPort}/v{version}"
      timeout_ms: 800
`,
      {
        env: {
          MLFLOW_TRACKING_URI: tracking.url,
          // Long on purpose: within this suite only webhooks and explicit syncs move traffic.
          REGISTRY_SYNC_INTERVAL_MS: '600000',
          REGISTRY_HEALTH_INTERVAL_MS: '1000',
          MLFLOW_WEBHOOK_SECRET: SECRET,
          REGISTRY_SERVING_URL_TEMPLATE: `http://127.0.0.1:${prefix}{version}`,
        },
      },
    );
    await mlflowApi(tracking.url, 'POST', 'webhooks', {
      name: 'gatehouse',
      url: `${gateway.url}/webhooks/mlflow`,
      events: [
        { entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' },
        { entity: 'MODEL_VERSION_ALIAS', action: 'DELETED' },
        { entity: 'MODEL_VERSION_TAG', action: 'SET' },
        { entity: 'MODEL_VERSION', action: 'CREATED' },
      ],
      secret: SECRET,
    });
    scoring.push(...(await serving));
    // Boot sync done and both scoring servers seen healthy.
    await waitFor(
      async () => (await invoke('churn')).status === 200 && (await invoke('churn-staging')).status === 200,
      30_000,
    );
  }, SETUP_TIMEOUT_MS + 300_000);

  afterAll(async () => {
    await gateway?.close();
    await Promise.all(scoring.map((p) => p.stop()));
    await tracking?.stop();
    await tracking?.cleanup();
    await new Promise((done) => (hung ? hung.close(done) : done(undefined)));
  }, 60_000);

  it('sync finds the registered models, versions, aliases, stages and tags', async () => {
    const models = await get('/admin/v1/registry/models');
    expect(models.status).toBe(200);
    expect(models.body.state).toBe('ok');
    const churn = models.body.models.find((m: { name: string }) => m.name === 'churn');
    expect(churn).toMatchObject({ aliases: { champion: '1' }, latestVersion: '2', versionCount: 2 });
    expect(churn.endpoints.sort()).toEqual([
      'churn',
      'churn-cached',
      'churn-challenger',
      'churn-staging',
      'churn-v1',
    ]);
    const versions = await get('/admin/v1/registry/models/churn/versions');
    expect(versions.status).toBe(200);
    const [v1, v2] = versions.body.versions;
    expect(v1).toMatchObject({ version: '1', status: 'READY', aliases: ['champion'], stage: 'None' });
    expect(v1.tags['gatehouse.serving_url']).toBe(`http://127.0.0.1:${prefix}1`);
    expect(v1.endpoints.sort()).toEqual(['churn', 'churn-v1']);
    expect(v2).toMatchObject({ version: '2', stage: 'Staging', aliases: [], endpoints: ['churn-staging'] });
    expect((await get('/admin/v1/registry/models/nope/versions')).status).toBe(404);
  });

  it('predictions come from the version the reference resolves to (alias, version, stage, template)', async () => {
    const champion = await invoke('churn');
    expect(champion).toMatchObject({ status: 200, version: '1' });
    expect(champion.body.predictions![0]).toBeCloseTo(3, 6);
    const csv = await post('/predict/churn', 'x\n3\n4\n', 'text/csv');
    expect(csv.status).toBe(200);
    expect(csv.body.predictions!.map((p) => Math.round(p))).toEqual([3, 4]);
    const staging = await post('/gateway/churn-staging/invocations', { dataframe_records: [{ x: 3 }] });
    expect(staging.version).toBe('2');
    expect(staging.body.predictions![0]).toBeCloseTo(30, 6);
    const templated = await invoke('sentiment-templated', { dataframe_records: [{ x: 5 }] });
    expect(templated).toMatchObject({ status: 200, version: '1' });
    expect(templated.body.predictions![0]).toBeCloseTo(5, 6);
    const unset = await invoke('churn-challenger');
    expect(unset.status).toBe(503);
    expect(unset.body.detail).toMatchObject({
      error_code: 'TEMPORARILY_UNAVAILABLE',
      message: "models:/churn@challenger cannot be served: alias 'challenger' is not set on 'churn'.",
    });
  });

  it("answers wrong bodies with MLflow's scoring-protocol errors and never leaks a stack trace", async () => {
    const none = await invoke('churn', { columns: ['x'] });
    expect(none.status).toBe(400);
    const detail = none.body.detail as { error_code: string; message: string };
    expect(detail.error_code).toBe('BAD_REQUEST');
    expect(detail.message).toContain(
      "The input must be a JSON dictionary with exactly one of the input fields {'dataframe_records', 'dataframe_split', 'instances', 'inputs'}. Received dictionary with input fields: [].",
    );
    const two = await invoke('churn', { dataframe_split: X3.dataframe_split, inputs: [[3]] });
    expect((two.body.detail as { message: string }).message).toContain(
      "Received dictionary with input fields: ['dataframe_split', 'inputs'].",
    );
    const list = await invoke('churn', [[3]]);
    expect(list.status).toBe(400);
    // The gateway's JSON parser refuses non-object bodies on every path before any handler runs.
    expect(list.body.detail).toBe('Request body must be a JSON object.');
    // Reaches the scoring server, which rejects the schema: its status and words, not its stack trace.
    const schema = await invoke('churn', { dataframe_split: { columns: ['y'], data: [[3]] } });
    expect(schema.status).toBe(400);
    expect(schema.body.detail).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
    expect(JSON.stringify(schema.body)).toContain("Model is missing inputs ['x']");
    expect(JSON.stringify(schema.body)).not.toContain('stack_trace');
    expect((await post('/predict/unknown', X3)).status).toBe(404);
    expect((await post('/v1/chat/completions', 'x\n3\n', 'text/csv')).status).toBe(415);
    // A predict endpoint is not a chat model.
    const chat = await post('/v1/chat/completions', {
      model: 'churn',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(chat.status).toBe(400);
    expect(chat.body).toMatchObject({ error: { message: "Endpoint 'churn' is not a chat endpoint." } });
  });

  it('works with the real mlflow.deployments client: list_endpoints, get_endpoint, predict', async () => {
    const result = (await runPythonJson(FIXTURE_SCRIPT, ['client', gateway!.url, 'churn'], {
      MLFLOW_TRACKING_TOKEN: gateway!.apiKey,
    })) as {
      list_endpoints: { name: string }[];
      get_endpoint: unknown;
      predict: { predictions: number[] };
    };
    const listed = result.list_endpoints.find((e) => e.name === 'churn');
    expect(listed).toMatchObject({
      endpoint_type: 'ml/v1/predict',
      model: { name: 'models:/churn@champion', provider: 'mlflow-model-registry' },
    });
    expect(result.get_endpoint).toMatchObject({ name: 'churn', endpoint_type: 'ml/v1/predict' });
    expect(result.predict.predictions.map((p) => Math.round(p))).toEqual([2, 4]);
  }, 180_000);

  it('a registry webhook triggers an immediate sync; unsigned or badly signed deliveries get 401', async () => {
    const payload = JSON.stringify({ entity: 'model_version_alias', action: 'created', data: {} });
    const deliver = (headers: Record<string, string>) =>
      fetch(`${gateway!.url}/webhooks/mlflow`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: payload,
      });
    const now = String(Math.floor(Date.now() / 1000));
    expect((await deliver({})).status).toBe(401);
    const forged = await deliver({
      'x-mlflow-signature': signWebhook('wrong-secret', 'd-1', now, payload),
      'x-mlflow-timestamp': now,
      'x-mlflow-delivery-id': 'd-1',
    });
    expect(forged.status).toBe(401);
    const stale = String(Number(now) - 3600);
    const replayed = await deliver({
      'x-mlflow-signature': signWebhook(SECRET, 'd-2', stale, payload),
      'x-mlflow-timestamp': stale,
      'x-mlflow-delivery-id': 'd-2',
    });
    expect(replayed.status).toBe(401);

    // The real thing: MLflow signs and delivers model_version_alias.created; sync interval is 10 minutes.
    const started = Date.now();
    await mlflowApi(tracking!.url, 'POST', 'registered-models/alias', {
      name: 'churn',
      alias: 'challenger',
      version: '2',
    });
    await waitFor(async () => (await invoke('churn-challenger')).status === 200, 10_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    const challenger = await invoke('churn-challenger');
    expect(challenger.version).toBe('2');
    expect(challenger.body.predictions![0]).toBeCloseTo(30, 6);
  });

  it('moving the alias switches traffic with zero failed requests under steady load', async () => {
    const answers: (Answer & { startedAt: number })[] = [];
    let moved = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const startedAt = Date.now();
        answers.push({ ...(await invoke('churn')), startedAt });
      }
    };
    const workers = Promise.all([worker(), worker(), worker(), worker()]);
    await new Promise((r) => setTimeout(r, 1500));
    moved = Date.now();
    await mlflowApi(tracking!.url, 'POST', 'registered-models/alias', {
      name: 'churn',
      alias: 'champion',
      version: '2',
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const after = answers.filter((a) => a.startedAt > moved && a.version === '2');
      if (after.length >= 40) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    stop = true;
    await workers;
    const failed = answers.filter((a) => a.status !== 200);
    expect(failed).toEqual([]);
    const v1 = answers.filter((a) => a.version === '1');
    const v2 = answers.filter((a) => a.version === '2');
    expect(v1.length).toBeGreaterThan(10);
    expect(v2.length).toBeGreaterThanOrEqual(40);
    expect(v1.length + v2.length).toBe(answers.length);
    // Each answer came from the version its header names (v1: 3, v2: 30).
    for (const answer of answers) {
      expect(Math.round(answer.body.predictions![0])).toBe(answer.version === '1' ? 3 : 30);
    }
    // No request started before the move went to v2; once v2 served, requests started later never went back.
    expect(v2.every((a) => a.startedAt >= moved - 50)).toBe(true);
    const firstV2 = Math.min(...v2.map((a) => a.startedAt));
    expect(answers.filter((a) => a.startedAt > firstV2 + 200 && a.version === '1')).toEqual([]);
    // Through the webhook, the switch took well under the 10-minute sync interval.
    expect(firstV2 - moved).toBeLessThan(5_000);
  }, 60_000);

  it('caches predictions per resolved version: a hit replays the answer, an alias move starts afresh', async () => {
    const predict = async (body: unknown, contentType = 'application/json', headers = {}) => {
      const response = await fetch(`${gateway!.url}/endpoints/churn-cached/invocations`, {
        method: 'POST',
        headers: { ...gateway!.authHeaders(), 'content-type': contentType, ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return {
        status: response.status,
        cache: response.headers.get('x-gatehouse-cache'),
        age: response.headers.get('age'),
        version: response.headers.get('x-gatehouse-model-version'),
        text: await response.text(),
      };
    };
    const point = async (version: string) => {
      await mlflowApi(tracking!.url, 'POST', 'registered-models/alias', {
        name: 'churn',
        alias: 'cached',
        version,
      });
      // Probes bypass the cache so they cannot fill the entries under test.
      await waitFor(async () => {
        const probe = await predict({ dataframe_records: [{ x: 1 }] }, 'application/json', {
          'cache-control': 'no-store',
        });
        return probe.status === 200 && probe.version === version;
      }, 10_000);
    };
    const X5 = { dataframe_split: { columns: ['x'], data: [[5]] } };

    await point('1');
    const first = await predict(X5);
    expect(first).toMatchObject({ status: 200, cache: 'miss', age: null, version: '1' });
    expect(Math.round((JSON.parse(first.text) as { predictions: number[] }).predictions[0])).toBe(5);
    // Key order does not split entries; the hit is the scoring server's answer byte for byte.
    const again = await predict({ dataframe_split: { data: [[5]], columns: ['x'] } });
    expect(again).toMatchObject({ status: 200, cache: 'hit', version: '1', text: first.text });
    expect(Number(again.age)).toBeGreaterThanOrEqual(0);
    // CSV bodies are keyed on their text.
    expect((await predict('x\n5\n6\n', 'text/csv')).cache).toBe('miss');
    const csvHit = await predict('x\n5\n6\n', 'text/csv');
    expect(csvHit).toMatchObject({ status: 200, cache: 'hit', version: '1' });
    expect((JSON.parse(csvHit.text) as { predictions: number[] }).predictions.map(Math.round)).toEqual([
      5, 6,
    ]);
    // Errors are never cached.
    const wrong = { dataframe_split: { columns: ['y'], data: [[5]] } };
    expect(await predict(wrong)).toMatchObject({ status: 400, cache: 'miss' });
    expect(await predict(wrong)).toMatchObject({ status: 400, cache: 'miss' });

    // The alias moves to v2: the same body is a miss answered by v2, then a hit that still says v2.
    await point('2');
    const moved = await predict(X5);
    expect(moved).toMatchObject({ status: 200, cache: 'miss', version: '2' });
    expect(Math.round((JSON.parse(moved.text) as { predictions: number[] }).predictions[0])).toBe(50);
    expect(await predict(X5)).toMatchObject({ status: 200, cache: 'hit', version: '2', text: moved.text });
    const stats = await get('/admin/v1/cache/stats');
    expect(stats.body).toMatchObject({ hits: 3 });
  });

  it('auto-exposes models tagged gatehouse.expose=true and removes them when the tag goes', async () => {
    expect((await get('/api/2.0/endpoints/sentiment')).status).toBe(404);
    await mlflowApi(tracking!.url, 'POST', 'registered-models/set-tag', {
      name: 'sentiment',
      key: 'gatehouse.expose',
      value: 'true',
    });
    const synced = await sync();
    expect(synced.status).toBe(200);
    expect(await synced.json()).toMatchObject({ status: 'synced', trigger: 'admin', models: 2, versions: 3 });
    const endpoint = await get('/api/2.0/endpoints/sentiment');
    expect(endpoint.body).toMatchObject({
      name: 'sentiment',
      endpoint_type: 'ml/v1/predict',
      model: { name: 'models:/sentiment/1', provider: 'mlflow-model-registry' },
    });
    const answer = await invoke('sentiment', { dataframe_records: [{ x: 7 }] });
    expect(answer).toMatchObject({ status: 200, version: '1' });
    expect(answer.body.predictions![0]).toBeCloseTo(7, 6);
    await mlflowApi(tracking!.url, 'DELETE', 'registered-models/delete-tag', {
      name: 'sentiment',
      key: 'gatehouse.expose',
    });
    expect((await sync()).status).toBe(200);
    expect((await get('/api/2.0/endpoints/sentiment')).status).toBe(404);
    expect((await invoke('sentiment')).status).toBe(404);
  });

  it('a scoring timeout is 504; a dead scoring server is 502 at once, then 503 once its health check fails', async () => {
    const slow = await invoke('sentiment-slow', X3);
    expect(slow.status).toBe(504);
    expect((slow.body.detail as { message: string }).message).toBe(
      "Timed out: the scoring server of model 'sentiment' version 1 did not answer within 800 ms.",
    );
    // champion is v2 now; stop v2's scoring server.
    await scoring[1].stop();
    const refused = await invoke('churn');
    expect(refused.status).toBe(502);
    expect((refused.body.detail as { message: string }).message).toBe(
      "Could not reach the scoring server of model 'churn' version 2.",
    );
    await waitFor(async () => (await invoke('churn')).status === 503, 10_000);
    const unhealthy = await invoke('churn');
    expect((unhealthy.body.detail as { message: string }).message).toBe(
      "Model 'churn' version 2 (endpoint 'churn') is unavailable: its scoring server failed its health check.",
    );
    const other = await invoke('churn-v1');
    expect(other).toMatchObject({ status: 200, version: '1' });
  });

  it('MLflow down: the stored snapshot keeps serving and readiness reports the registry degraded', async () => {
    const client = new Client({ connectionString: gateway!.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        'SELECT jsonb_array_length(models) AS n FROM registry_snapshots',
      );
      expect(rows).toEqual([{ n: 2 }]);
    } finally {
      await client.end();
    }
    await tracking!.stop();
    const failed = await sync();
    expect(failed.status).toBe(502);
    const body = (await failed.json()) as { message: string };
    expect(body.message).toContain('Registry sync failed: cannot reach the MLflow tracking server');
    expect(body.message).toContain('The last snapshot keeps serving.');
    const ready = await fetch(`${gateway!.url}/health/ready`, { headers: gateway!.authHeaders() });
    expect(ready.status).toBe(200);
    const health = (await ready.json()) as {
      status: string;
      components: { registry: { state: string; lastError: string } };
    };
    expect(health.status).toBe('degraded');
    expect(health.components.registry.state).toBe('degraded');
    expect(health.components.registry.lastError).toContain('cannot reach the MLflow tracking server');
    const still = await invoke('churn-v1');
    expect(still).toMatchObject({ status: 200, version: '1' });
    expect(still.body.predictions![0]).toBeCloseTo(3, 6);
  });
});
