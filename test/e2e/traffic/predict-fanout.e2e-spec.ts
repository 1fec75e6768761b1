import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { UsageRecorder } from 'src/modules/billing/usage-recorder.service';
import { ensurePythonVenv, SETUP_TIMEOUT_MS } from 'test/e2e/support/python';
import { startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';
import {
  mlflowApi,
  MlflowProcess,
  serveModel,
  startTrackingServer,
  TrackingServer,
  trainModels,
  versionPortPrefix,
} from 'test/e2e/registry/mlflow-stack';

/*
 * Fan-out scoring against a real MLflow: churn v1 (y = x) trained and registered with MLflow's Python
 * API and served by a real `mlflow models serve`. The version's serving address lists two instances,
 * each a counting pass-through to that scoring server, so the test sees how many chunks each got, how
 * many rows each chunk had and how many were in flight at once; an instance answers 500 (as a scoring
 * server whose model raised does) for any chunk holding the marker value -7.
 */
const MARKER = -7;

interface Instance {
  url: string;
  server: Server;
  /** Rows of each `/invocations` call received. */
  chunks: number[];
  /** Calls answered 500 for the marker. */
  failed: number;
}

function rowsOf(text: string, csv: boolean): number {
  if (csv) return text.trim().split('\n').length - 1;
  const body = JSON.parse(text) as Record<string, unknown>;
  const input = body.dataframe_split ?? body.dataframe_records ?? body.instances ?? body.inputs;
  if (Array.isArray(input)) return input.length;
  const columns = input as Record<string, unknown[]>;
  // dataframe_split's rows, or the length of a dict of columns.
  return Array.isArray(columns.data) ? columns.data.length : Object.values(columns)[0].length;
}

let inFlight = 0;
let maxInFlight = 0;

async function startInstance(upstream: () => string): Promise<Instance> {
  const instance = { url: '', chunks: [] as number[], failed: 0 } as Instance;
  instance.server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      void (async () => {
        const text = Buffer.concat(parts).toString('utf8');
        if (request.method === 'GET') {
          const ping = await fetch(`${upstream()}${request.url}`);
          response.writeHead(ping.status).end(await ping.text());
          return;
        }
        const type = request.headers['content-type'] ?? 'application/json';
        instance.chunks.push(rowsOf(text, type.startsWith('text/csv')));
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          if (new RegExp(`(^|[^0-9])${MARKER}([^0-9]|$)`).test(text)) {
            instance.failed++;
            response.writeHead(500, { 'content-type': 'application/json' });
            response.end(JSON.stringify({ error_code: 'INTERNAL_ERROR', message: 'the model raised' }));
            return;
          }
          const scored = await fetch(`${upstream()}/invocations`, {
            method: 'POST',
            headers: { 'content-type': type },
            body: text,
          });
          response.writeHead(scored.status, { 'content-type': 'application/json' });
          response.end(await scored.text());
        } finally {
          inFlight--;
        }
      })();
    });
  });
  await new Promise<void>((done) => instance.server.listen(0, '127.0.0.1', done));
  instance.url = `http://127.0.0.1:${(instance.server.address() as AddressInfo).port}`;
  return instance;
}

/** x = 1..n, with the marker at the given rows. */
function column(n: number, markers: number[] = []): number[] {
  return Array.from({ length: n }, (_, i) => (markers.includes(i) ? MARKER : i + 1));
}

describe('fan-out scoring on a predict endpoint (real MLflow scoring server)', () => {
  let tracking: TrackingServer | undefined;
  let serving: MlflowProcess | undefined;
  let scoringUrl = '';
  let instances: Instance[] = [];
  let gw: TestGateway | undefined;

  const post = async (path: string, body: string, type = 'application/json', requestId?: string) => {
    const response = await fetch(`${gw!.url}${path}`, {
      method: 'POST',
      headers: {
        ...gw!.authHeaders(),
        'content-type': type,
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
      body,
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  };
  /** `gatehouse_scoring_chunks_total{endpoint="churn",outcome}` as /metrics shows it now. */
  const chunkMetric = async (outcome: 'success' | 'failure') => {
    const text = await (await fetch(`${gw!.url}/metrics`, { headers: gw!.authHeaders() })).text();
    const line = new RegExp(
      `^gatehouse_scoring_chunks_total\\{endpoint="churn",outcome="${outcome}"\\} (\\d+)$`,
      'm',
    );
    return Number(line.exec(text)?.[1] ?? 0);
  };
  /** The scoring server's own answer to the whole body, in one call. */
  const direct = async (body: string, type = 'application/json') => {
    const response = await fetch(`${scoringUrl}/invocations`, {
      method: 'POST',
      headers: { 'content-type': type },
      body,
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { predictions: unknown };
  };
  const reset = () => {
    instances.forEach((i) => {
      i.chunks = [];
      i.failed = 0;
    });
    maxInFlight = 0;
  };

  beforeAll(async () => {
    await ensurePythonVenv();
    tracking = await startTrackingServer();
    await trainModels(tracking.url);
    const port = (await versionPortPrefix()) * 10 + 1;
    scoringUrl = `http://127.0.0.1:${port}`;
    instances = await Promise.all([startInstance(() => scoringUrl), startInstance(() => scoringUrl)]);
    await mlflowApi(tracking.url, 'POST', 'model-versions/set-tag', {
      name: 'churn',
      version: '1',
      key: 'gatehouse.serving_url',
      value: instances.map((i) => i.url).join(', '),
    });
    serving = await serveModel(tracking.url, 'models:/churn/1', port);
    gw = await startGateway(
      `
endpoints:
  - name: churn
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/1" }
    gatehouse:
      path: /predict/churn
      batch: { max_rows_per_call: 100, concurrency: 4 }
`,
      {
        env: {
          MLFLOW_TRACKING_URI: tracking.url,
          REGISTRY_SYNC_INTERVAL_MS: '600000',
          REGISTRY_HEALTH_INTERVAL_MS: '600000',
        },
      },
    );
    const probe = JSON.stringify({ dataframe_split: { columns: ['x'], data: [[3]] } });
    await waitFor(async () => (await post('/endpoints/churn/invocations', probe)).status === 200, 60_000);
  }, SETUP_TIMEOUT_MS + 400_000);

  afterAll(async () => {
    await gw?.close();
    await serving?.stop();
    await tracking?.stop();
    await tracking?.cleanup();
    await Promise.all(instances.map((i) => new Promise((done) => i.server.close(done))));
  }, 60_000);

  it('scores 1,000 rows in chunks of 100 over both instances, in order, as one ledgered request', async () => {
    const x = column(1000);
    const body = JSON.stringify({
      dataframe_split: { columns: ['x'], index: x.map((v) => v + 5000), data: x.map((v) => [v]) },
    });
    const expected = await direct(body);
    expect((expected.predictions as number[]).length).toBe(1000);
    reset();
    const requestId = `fanout-${Date.now()}`;
    const answer = await post('/endpoints/churn/invocations', body, 'application/json', requestId);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(expected);
    expect((answer.body.predictions as number[])[999]).toBeCloseTo(1000, 6);
    expect(answer.headers.get('x-gatehouse-chunks')).toBe('10');
    // Every chunk at most 100 rows, all 1,000 rows sent once, spread round robin over the two instances.
    const chunks = instances.flatMap((i) => i.chunks);
    expect(chunks.length).toBe(10);
    expect(Math.max(...chunks)).toBe(100);
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(instances.map((i) => i.chunks.length)).toEqual([5, 5]);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    expect(maxInFlight).toBeGreaterThanOrEqual(2);

    await gw!.app.get(UsageRecorder).flush();
    const client = new Client({ connectionString: gw!.databaseUrl });
    await client.connect();
    try {
      const rows = await client.query<{ status_code: number }>(
        'SELECT * FROM usage_records WHERE request_id = $1',
        [requestId],
      );
      expect(rows.rows).toHaveLength(1);
    } finally {
      await client.end();
    }
  });

  it('splits dataframe_records, inputs (as columns) and CSV on the custom path the same way', async () => {
    const x = column(250);
    const records = JSON.stringify({ dataframe_records: x.map((v) => ({ x: v })) });
    const csv = `x\n${x.join('\n')}\n`;
    const inputs = JSON.stringify({ inputs: { x } });
    for (const [body, type] of [
      [records, 'application/json'],
      [inputs, 'application/json'],
      [csv, 'text/csv'],
    ] as const) {
      const expected = await direct(body, type);
      reset();
      const answer = await post('/predict/churn', body, type);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(expected);
      expect(instances.flatMap((i) => i.chunks).sort((a, b) => a - b)).toEqual([50, 100, 100]);
    }
  });

  it('a chunk that fails on every instance fails the request, naming its rows', async () => {
    const x = column(1000, [250]);
    reset();
    const failuresBefore = await chunkMetric('failure');
    const answer = await post(
      '/endpoints/churn/invocations',
      JSON.stringify({ dataframe_split: { columns: ['x'], data: x.map((v) => [v]) } }),
    );
    expect(answer.status).toBe(502);
    expect(answer.body).toEqual({
      detail: {
        error_code: 'BAD_GATEWAY',
        message: "rows 200–299 failed: The scoring server of model 'churn' version 1 failed (HTTP 500).",
      },
    });
    expect(JSON.stringify(answer.body)).not.toContain('Traceback');
    // Retried per the endpoint's policy: the failing chunk went to both instances.
    expect(instances.map((i) => i.failed)).toEqual([1, 1]);
    // One chunk failed for good; the chunks it aborted are not counted as failures.
    expect((await chunkMetric('failure')) - failuresBefore).toBe(1);
  });

  it('with partial: true, answers the other rows and lists the failed chunks', async () => {
    const x = column(1000, [250, 730]);
    const clean = column(1000);
    const expected = (await direct(
      JSON.stringify({ dataframe_split: { columns: ['x'], data: clean.map((v) => [v]) } }),
    )) as { predictions: (number | null)[] };
    reset();
    const before = { success: await chunkMetric('success'), failure: await chunkMetric('failure') };
    const answer = await post(
      '/endpoints/churn/invocations',
      JSON.stringify({ dataframe_split: { columns: ['x'], data: x.map((v) => [v]) }, partial: true }),
    );
    expect(answer.status).toBe(200);
    const predictions = answer.body.predictions as (number | null)[];
    expect(predictions).toHaveLength(1000);
    const want = expected.predictions.map((p, i) =>
      (i >= 200 && i < 300) || (i >= 700 && i < 800) ? null : p,
    );
    expect(predictions).toEqual(want);
    const errors = answer.body.errors as { rows: number[]; status: number; message: string }[];
    expect(errors.map((e) => [e.rows, e.status])).toEqual([
      [[200, 299], 502],
      [[700, 799], 502],
    ]);
    expect(errors[0].message).toBe("The scoring server of model 'churn' version 1 failed (HTTP 500).");
    // Each failed chunk was tried on both instances; every other chunk was scored once.
    expect(instances.map((i) => i.failed)).toEqual([2, 2]);
    expect(instances.flatMap((i) => i.chunks)).toHaveLength(12);
    expect((await chunkMetric('success')) - before.success).toBe(8);
    expect((await chunkMetric('failure')) - before.failure).toBe(2);
  });
});
