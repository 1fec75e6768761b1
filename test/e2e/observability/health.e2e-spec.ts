import { randomBytes } from 'node:crypto';
import { CircuitStates } from 'src/modules/observability/metrics/circuit-states';
import { call } from 'test/e2e/support/admin-client';
import { uniqueRedisPrefix, redisKeys } from 'test/e2e/support/redis-prefix';
import { startTcpProxy, TcpProxy } from 'test/e2e/support/tcp-proxy';
import { createTestDatabase, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';

jest.setTimeout(120_000);

interface Component {
  status: string;
  critical: boolean;
  message?: string;
  [detail: string]: unknown;
}

interface Readiness {
  status: string;
  checkedAt?: string;
  components?: Record<string, Component>;
}

const ready = async (gateway: TestGateway, headers: Record<string, string> = {}) => {
  const response = await fetch(`${gateway.url}/health/ready`, { headers });
  return { status: response.status, body: (await response.json()) as Readiness };
};

/**
 * Readiness: the database is critical (failing → 503); Redis, the MLflow registry and upstream circuits
 * only degrade (200). Probes without operator credentials get the status word only.
 */
describe('/health/ready', () => {
  describe('a healthy gateway', () => {
    const token = `mt_${randomBytes(16).toString('hex')}`;
    let gateway: TestGateway;

    beforeAll(async () => {
      gateway = await startGateway('endpoints: []\n', { env: { METRICS_TOKEN: token } });
    });

    afterAll(async () => {
      await gateway?.close();
    });

    it('tells an anonymous probe, or a bad credential, the status only', async () => {
      expect(await ready(gateway)).toEqual({ status: 200, body: { status: 'ok' } });
      expect(await ready(gateway, { authorization: 'Bearer gh_not_a_real_key_0000000000' })).toEqual({
        status: 200,
        body: { status: 'ok' },
      });
      const live = await fetch(`${gateway.url}/health/live`);
      expect([live.status, await live.json()]).toEqual([200, { status: 'ok' }]);
    });

    it('gives operators (metrics.read, or the metrics token) the detail', async () => {
      for (const headers of [gateway.authHeaders(), { authorization: `Bearer ${token}` }]) {
        const { status, body } = await ready(gateway, headers);
        expect(status).toBe(200);
        expect(body).toMatchObject({
          status: 'ok',
          checkedAt: expect.any(String),
          components: {
            database: { status: 'ok', critical: true, latencyMs: expect.any(Number) },
            circuits: { status: 'ok', critical: false, total: 0, open: [], halfOpen: [] },
          },
        });
        // Not configured: not checked.
        expect(Object.keys(body.components!).sort()).toEqual(['circuits', 'database']);
      }
    });

    it('hides the detail from a developer (no metrics.read)', async () => {
      const admin = gateway.authHeaders();
      const team = await call(gateway.url, 'POST', '/admin/v1/teams', admin, { name: 'probe-devs' });
      const principal = await call(gateway.url, 'POST', '/admin/v1/principals', admin, {
        kind: 'user',
        name: 'probe-dev',
        teamId: team.body.id,
        roles: ['developer'],
      });
      const key = await call(gateway.url, 'POST', '/admin/v1/keys', admin, {
        name: 'k',
        principalId: principal.body.id,
      });
      expect(key.status).toBe(201);
      expect(await ready(gateway, { authorization: `Bearer ${key.body.key as string}` })).toEqual({
        status: 200,
        body: { status: 'ok' },
      });
    });

    it('is degraded, not failing, while an upstream circuit is open', async () => {
      const unregister = gateway.app.get(CircuitStates).register({
        circuits: () => [
          { target: 'chat', state: 'open', reason: 'upstream 503 five times in a row' },
          { target: 'chat-backup', state: 'half_open' },
          { target: 'embed', state: 'closed' },
        ],
      });
      try {
        expect(await ready(gateway)).toEqual({ status: 200, body: { status: 'degraded' } });
        const { body } = await ready(gateway, gateway.authHeaders());
        expect(body.components!.circuits).toEqual({
          status: 'degraded',
          critical: false,
          message: '1 of 3 upstream circuits open',
          total: 3,
          open: [{ target: 'chat', reason: 'upstream 503 five times in a row' }],
          halfOpen: ['chat-backup'],
        });
      } finally {
        unregister();
      }
      expect((await ready(gateway)).body).toEqual({ status: 'ok' });
    });
  });

  describe('Redis and the MLflow registry going away', () => {
    const prefix = uniqueRedisPrefix('health');
    let redis: TcpProxy;
    let gateway: TestGateway;

    beforeAll(async () => {
      redis = await startTcpProxy('127.0.0.1', 6379);
      gateway = await startGateway('endpoints: []\n', {
        env: {
          REDIS_URL: `redis://127.0.0.1:${redis.port}`,
          REDIS_KEY_PREFIX: prefix,
          // Nothing listens there: every sync fails, the (empty) last snapshot keeps serving.
          MLFLOW_TRACKING_URI: 'http://127.0.0.1:9',
          REGISTRY_REQUEST_TIMEOUT_MS: '500',
          HEALTH_CHECK_TIMEOUT_MS: '1000',
        },
      });
    });

    afterAll(async () => {
      await gateway?.close();
      await redis?.kill();
      await redisKeys(prefix, true);
    });

    it('reports Redis ok and the never-synced registry as degraded', async () => {
      await waitFor(
        async () =>
          (await ready(gateway, gateway.authHeaders())).body.components?.registry?.state === 'degraded',
      );
      const { status, body } = await ready(gateway, gateway.authHeaders());
      expect(status).toBe(200);
      expect(body.status).toBe('degraded');
      expect(body.components!.redis).toMatchObject({ status: 'ok', critical: false });
      expect(body.components!.registry).toMatchObject({
        status: 'degraded',
        critical: false,
        state: 'degraded',
        lastSyncedAt: null,
        ageSeconds: null,
        message: 'the last sync failed; the last snapshot keeps serving',
        lastError: expect.stringContaining('cannot reach the MLflow tracking server'),
      });
      expect(body.components!.database.status).toBe('ok');
    });

    it('stays ready but degraded when Redis dies', async () => {
      await redis.kill();
      await waitFor(
        async () =>
          (await ready(gateway, gateway.authHeaders())).body.components?.redis?.status === 'failing',
      );
      const { status, body } = await ready(gateway, gateway.authHeaders());
      expect(status).toBe(200);
      expect(body.status).toBe('degraded');
      expect(body.components!.redis).toEqual({
        status: 'failing',
        critical: false,
        message: expect.any(String),
      });
      expect(JSON.stringify(body)).not.toContain(String(redis.port));
      expect(await ready(gateway)).toEqual({ status: 200, body: { status: 'degraded' } });
    });
  });

  describe('the database going away', () => {
    let proxy: TcpProxy;
    let database: { url: string; drop: () => Promise<void> };
    let gateway: TestGateway;

    beforeAll(async () => {
      database = await createTestDatabase();
      proxy = await startTcpProxy('127.0.0.1', 5432);
      const url = new URL(database.url);
      url.port = String(proxy.port);
      gateway = await startGateway('endpoints: []\n', {
        databaseUrl: url.toString(),
        env: { HEALTH_CHECK_TIMEOUT_MS: '1000' },
      });
    });

    afterAll(async () => {
      await gateway?.close().catch(() => undefined);
      await proxy?.kill();
      await database?.drop();
    });

    it('fails readiness with 503 and says why to operators only', async () => {
      expect(await ready(gateway)).toEqual({ status: 200, body: { status: 'ok' } });
      await proxy.kill();
      const anonymous = await ready(gateway);
      expect(anonymous).toEqual({ status: 503, body: { status: 'failing' } });
      // The operator is still recognised (keys are served from memory) and sees which component failed.
      const { status, body } = await ready(gateway, gateway.authHeaders());
      expect(status).toBe(503);
      expect(body.components!.database).toMatchObject({
        status: 'failing',
        critical: true,
        message: expect.any(String),
      });
      expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|postgres:\/\/|gatehouse_e2e_/);
      // Liveness is not readiness: the process still serves.
      expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
    });
  });
});
