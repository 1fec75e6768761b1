import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { ensurePythonVenv, SETUP_TIMEOUT_MS } from 'test/e2e/support/python';
import { startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';
import { mlflowApi, startTrackingServer, TrackingServer, trainModels } from 'test/e2e/registry/mlflow-stack';

/**
 * One registry version served by three scoring servers: a real MLflow registry, and three local
 * servers speaking the MLflow scoring protocol (`GET /ping`, `POST /invocations` → {"predictions"})
 * that count their calls and can be switched to failing, so the test sees where traffic goes.
 */
interface FakeScorer {
  url: string;
  calls: number;
  down: boolean;
  server: Server;
}

async function startScorer(): Promise<FakeScorer> {
  const scorer = { url: '', calls: 0, down: false } as FakeScorer;
  scorer.server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.url === '/ping') {
        response.writeHead(scorer.down ? 503 : 200).end('\n');
        return;
      }
      scorer.calls++;
      if (scorer.down) {
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error_code: 'TEMPORARILY_UNAVAILABLE', message: 'overloaded' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ predictions: [3] }));
    });
  });
  await new Promise<void>((done) => scorer.server.listen(0, '127.0.0.1', done));
  scorer.url = `http://127.0.0.1:${(scorer.server.address() as AddressInfo).port}`;
  return scorer;
}

describe('predict endpoint with several scoring servers (real MLflow registry)', () => {
  let tracking: TrackingServer | undefined;
  let scorers: FakeScorer[] = [];
  let gateway: TestGateway | undefined;

  const predict = () =>
    fetch(`${gateway!.url}/endpoints/churn/invocations`, {
      method: 'POST',
      headers: { ...gateway!.authHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify({ dataframe_split: { columns: ['x'], data: [[3]] } }),
    });

  beforeAll(async () => {
    await ensurePythonVenv();
    tracking = await startTrackingServer();
    scorers = await Promise.all([startScorer(), startScorer(), startScorer()]);
    await trainModels(tracking.url);
    await mlflowApi(tracking.url, 'POST', 'registered-models/alias', {
      name: 'churn',
      alias: 'champion',
      version: '1',
    });
    await mlflowApi(tracking.url, 'POST', 'model-versions/set-tag', {
      name: 'churn',
      version: '1',
      key: 'gatehouse.serving_url',
      value: scorers.map((s) => s.url).join(', '),
    });
    gateway = await startGateway(
      `
endpoints:
  - name: churn
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn@champion" }
`,
      {
        env: {
          MLFLOW_TRACKING_URI: tracking.url,
          REGISTRY_SYNC_INTERVAL_MS: '600000',
          REGISTRY_HEALTH_INTERVAL_MS: '300',
        },
      },
    );
    await waitFor(async () => (await predict()).status === 200, 30_000);
  }, SETUP_TIMEOUT_MS + 300_000);

  afterAll(async () => {
    await gateway?.close();
    await tracking?.stop();
    await tracking?.cleanup();
    await Promise.all(scorers.map((s) => new Promise((done) => s.server.close(done))));
  }, 60_000);

  it('balances round robin over the instances and names the one that answered', async () => {
    const before = scorers.map((s) => s.calls);
    const targets = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const response = await predict();
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ predictions: [3] });
      const target = response.headers.get('x-gatehouse-target') ?? '';
      targets.set(target, (targets.get(target) ?? 0) + 1);
      expect(response.headers.get('x-gatehouse-attempts')).toBe('1');
    }
    expect(scorers.map((s, i) => s.calls - before[i])).toEqual([10, 10, 10]);
    expect([...targets.entries()].sort()).toEqual([
      ['churn@1#1', 10],
      ['churn@1#2', 10],
      ['churn@1#3', 10],
    ]);
  });

  it('a failing instance costs no failed request: retried on another instance, then kept out of rotation', async () => {
    scorers[1].down = true;
    const before = scorers[1].calls;
    for (let i = 0; i < 30; i++) {
      const response = await predict();
      expect(response.status).toBe(200);
    }
    // Passive ejection after 3 failures in a row (or the health check first): never more than 3 calls.
    expect(scorers[1].calls - before).toBeGreaterThanOrEqual(1);
    expect(scorers[1].calls - before).toBeLessThanOrEqual(3);
    // Out of rotation from then on (ejected, and its /ping fails too).
    const after = scorers[1].calls;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (let i = 0; i < 10; i++) expect((await predict()).status).toBe(200);
    expect(scorers[1].calls).toBe(after);
  });
});
