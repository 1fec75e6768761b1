import { call } from 'test/e2e/support/admin-client';
import { FakeScorer, startFakeScorer } from 'test/e2e/support/fake-scorer';
import { ensurePythonVenv, SETUP_TIMEOUT_MS } from 'test/e2e/support/python';
import { startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';
import { startTrackingServer, TrackingServer, trainModels } from 'test/e2e/registry/mlflow-stack';

/*
 * Balancing, ejection and health checks of predict endpoints configured with the LLM endpoints'
 * keys, and where a fallback's answer is cached: a real MLflow registry (its versions carry no
 * serving tag here, so each endpoint's serving_url_template lists its own local scoring servers).
 */
const BODY = { dataframe_split: { columns: ['x'], data: [[3]] } };

describe('predict endpoints: configurable balancing and ejection, cached fallback answers (real MLflow registry)', () => {
  let tracking: TrackingServer | undefined;
  let gw: TestGateway | undefined;
  const s: Record<string, FakeScorer> = {};

  const score = async (name: string, body: unknown = BODY, key = gw!.apiKey) => {
    const response = await fetch(`${gw!.url}/endpoints/${name}/invocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const parsed = (await response.json()) as { predictions?: number[] };
    return {
      status: response.status,
      prediction: parsed.predictions?.[0],
      target: response.headers.get('x-gatehouse-target'),
      attempts: response.headers.get('x-gatehouse-attempts'),
      cache: response.headers.get('x-gatehouse-cache'),
      version: response.headers.get('x-gatehouse-model-version'),
    };
  };
  const list = (...names: string[]) => names.map((n) => s[n].url).join(', ');
  const calls = (...names: string[]) => names.map((n) => s[n].calls);

  beforeAll(async () => {
    await ensurePythonVenv();
    tracking = await startTrackingServer();
    await trainModels(tracking.url);
    for (const [name, prediction] of Object.entries({
      a: 1,
      b: 1,
      c: 1,
      d: 1,
      e: 1,
      f: 1,
      g: 1,
      h: 1,
      primary: 10,
      backup: 20,
      p1: 1,
      p2: 2,
    })) {
      s[name] = await startFakeScorer([prediction]);
    }
    s.c.delayMs = 250;
    gw = await startGateway(
      `
endpoints:
  - name: weighted
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/sentiment/1" }
    gatehouse:
      serving_url_template: "${s.a.url}#weight=1, ${s.b.url}#weight=3"
      load_balancing: weighted
  - name: least
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/sentiment/1" }
    gatehouse:
      serving_url_template: "${list('c', 'd')}"
      load_balancing: least_outstanding
  - name: ejecting
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/sentiment/1" }
    gatehouse:
      serving_url_template: "${list('e', 'f')}"
      ejection: { consecutive_failures: 1, base_ms: 60000 }
      retry: { attempts: 2, backoff_ms: 0 }
  - name: checked
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/sentiment/1" }
    gatehouse:
      serving_url_template: "${list('g', 'h')}"
      health_check: { path: /healthz, interval_ms: 200, timeout_ms: 500, unhealthy_threshold: 1 }
  - name: primary
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/2" }
    gatehouse:
      serving_url_template: "${s.primary.url}"
      cache: {}
      fallbacks: [backup]
  - name: backup
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/1" }
    gatehouse:
      serving_url_template: "${s.backup.url}"
      cache: {}
  - name: p1
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/sentiment/1" }
    gatehouse: { serving_url_template: "${s.p1.url}" }
  - name: p2
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/1" }
    gatehouse: { serving_url_template: "${s.p2.url}" }
routes:
  - name: by-principal
    task_type: ml/v1/predict
    destinations:
      - { name: p1, traffic_percentage: 50 }
      - { name: p2, traffic_percentage: 50 }
    gatehouse: { sticky: principal }
`,
      { env: { MLFLOW_TRACKING_URI: tracking.url, REGISTRY_SYNC_INTERVAL_MS: '600000' } },
    );
    await waitFor(async () => (await score('weighted')).status === 200, 30_000);
  }, SETUP_TIMEOUT_MS + 300_000);

  afterAll(async () => {
    await gw?.close();
    await tracking?.stop();
    await tracking?.cleanup();
    await Promise.all(Object.values(s).map((scorer) => scorer.stop()));
  }, 60_000);

  it('load_balancing: weighted follows #weight=N on the serving address (75% ± 4 over 2,000 requests: 4 σ)', async () => {
    const before = calls('a', 'b');
    const targets = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const r = await score('weighted');
      expect(r.status).toBe(200);
      targets.set(r.target!, (targets.get(r.target!) ?? 0) + 1);
    }
    const [a, b] = calls('a', 'b').map((n, i) => n - before[i]);
    expect(a + b).toBe(2000);
    expect(Math.abs(b / 2000 - 0.75)).toBeLessThan(0.04);
    expect(targets.get('weighted@1#2')).toBe(b);
    expect(targets.get('weighted@1#1')).toBe(a);
  });

  it('load_balancing: least_outstanding keeps new requests off a slow scoring server', async () => {
    const before = calls('c', 'd');
    let next = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (next++ < 300) expect((await score('least')).status).toBe(200);
      }),
    );
    const [slow, fast] = calls('c', 'd').map((n, i) => n - before[i]);
    expect(slow + fast).toBe(300);
    // Round robin would give the slow one 150; with least outstanding it holds at most ~1 at a time.
    expect(slow).toBeLessThan(60);
    expect(s.c.maxInFlight).toBeLessThanOrEqual(3);
  });

  it('ejection: consecutive_failures 1 takes a failing instance out after its first failure', async () => {
    s.e.mode = '503';
    const first = await score('ejecting');
    // Whichever instance came first, the caller got an answer; e failed at most once.
    expect(first.status).toBe(200);
    for (let i = 0; i < 30; i++) {
      const r = await score('ejecting');
      expect(r).toMatchObject({ status: 200, target: 'ejecting@1#2', attempts: '1' });
    }
    expect(s.e.calls).toBeLessThanOrEqual(1);
    expect(s.f.calls).toBe(31);
  });

  it('health_check: a custom path and interval take an instance out of rotation and back', async () => {
    await waitFor(() => s.g.probes.filter((p) => p === '/healthz').length >= 2, 5_000);
    expect(s.g.probes.every((p) => p === '/healthz')).toBe(true);
    s.g.healthy = false;
    await waitFor(async () => {
      const targets = new Set<string | null>();
      for (let i = 0; i < 6; i++) targets.add((await score('checked')).target);
      return targets.size === 1 && targets.has('checked@1#2');
    }, 5_000);
    const out = s.g.calls;
    for (let i = 0; i < 10; i++) expect((await score('checked')).target).toBe('checked@1#2');
    expect(s.g.calls).toBe(out);
    s.g.healthy = true;
    await waitFor(async () => (await score('checked')).target === 'checked@1#1', 5_000);
  });

  it('sticky: principal keeps each caller (its own API key) on one destination of a predict route', async () => {
    const admin = gw!.authHeaders();
    const team = await call(gw!.url, 'POST', '/admin/v1/teams', admin, { name: 'scorers' });
    expect(team.status).toBe(201);
    const grant = await call(gw!.url, 'POST', '/admin/v1/grants', admin, {
      teamId: team.body.id,
      endpointPattern: 'by-principal',
    });
    expect(grant.status).toBe(201);
    const perCaller: number[] = [];
    for (let i = 0; i < 16; i++) {
      const principal = await call(gw!.url, 'POST', '/admin/v1/principals', admin, {
        kind: 'user',
        name: `caller-${i}`,
        teamId: team.body.id,
        roles: ['developer'],
      });
      expect(principal.status).toBe(201);
      const key = await call(gw!.url, 'POST', '/admin/v1/keys', admin, {
        name: 'k',
        principalId: principal.body.id,
      });
      expect(key.status).toBe(201);
      const seen = new Set<number | undefined>();
      for (let j = 0; j < 4; j++) {
        const r = await score('by-principal', BODY, key.body.key as string);
        expect(r.status).toBe(200);
        seen.add(r.prediction);
      }
      expect(seen.size).toBe(1);
      perCaller.push([...seen][0]!);
    }
    // Both destinations have callers (16 callers on a 50/50 split).
    expect(new Set(perCaller)).toEqual(new Set([1, 2]));
  });

  it('caches a fallback’s answer under the endpoint that answered, never under the primary', async () => {
    const body = { dataframe_split: { columns: ['x'], data: [[42]] } };
    s.primary.mode = '503';
    const rescued = await score('primary', body);
    expect(rescued).toMatchObject({
      status: 200,
      prediction: 20,
      target: 'backup@1',
      version: '1',
      cache: 'miss',
    });
    s.primary.mode = 'ok';
    // The primary is healthy: it answers for itself (a miss), not with the backup's cached answer.
    const own = await score('primary', body);
    expect(own).toMatchObject({
      status: 200,
      prediction: 10,
      target: 'primary@2',
      version: '2',
      cache: 'miss',
    });
    expect(await score('primary', body)).toMatchObject({ prediction: 10, cache: 'hit', version: '2' });
    // The backup's answer was cached as the backup's own.
    const backupCalls = s.backup.calls;
    expect(await score('backup', body)).toMatchObject({ prediction: 20, cache: 'hit', version: '1' });
    expect(s.backup.calls).toBe(backupCalls);
    const stats = await call(gw!.url, 'GET', '/admin/v1/cache/stats', gw!.authHeaders());
    expect(stats.status).toBe(200);
  });
});
