import { EMPTY_MODERATION } from 'src/modules/moderation/moderation-policy.schema';
import { AppConfig, loadAppConfig } from 'src/config/env.config';
import { ModelDeclaration, RouteTable } from 'src/modules/routing/route-table';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { MlflowRegistryClient } from 'src/modules/registry/mlflow-registry.client';
import { RegistryEvents, RegistryChangedEvent } from 'src/modules/registry/registry.events';
import { RegistryFetchError } from 'src/modules/registry/registry.exception';
import { LockedSync, RegistrySnapshotRepository } from 'src/modules/registry/registry-snapshot.repository';
import { RegistryService } from 'src/modules/registry/registry.service';
import { RegistryModel, RegistrySnapshot } from 'src/modules/registry/registry.types';
import { ServingHealthMonitor } from 'src/modules/registry/serving-health.monitor';
import { ServingProbe } from 'src/modules/registry/model-endpoint.resolver';

/** The registry as the fake MLflow reports it; tests move the alias. */
let champion = '1';
let mlflowDown = false;
let fetches = 0;

function registry(): RegistryModel[] {
  return [
    {
      name: 'churn',
      description: null,
      tags: {},
      aliases: { champion },
      versions: ['1', '2'].map((version) => ({
        version,
        status: 'READY',
        stage: 'None',
        aliases: version === champion ? ['champion'] : [],
        tags: { 'gatehouse.serving_url': `http://score-${version}` },
        source: null,
        runId: null,
        createdAt: null,
      })),
      updatedAt: null,
    },
  ];
}

class FakeClient {
  configured = true;
  async fetchAll(): Promise<RegistryModel[]> {
    fetches++;
    await new Promise((r) => setTimeout(r, 5));
    if (mlflowDown) throw new RegistryFetchError('cannot reach the MLflow tracking server (ECONNREFUSED)');
    return registry();
  }
}

class FakeRepository {
  stored: RegistrySnapshot | undefined;
  lockedElsewhere = false;
  async load(): Promise<RegistrySnapshot | undefined> {
    return this.stored;
  }
  async withSyncLock(fetch: () => Promise<RegistrySnapshot>): Promise<LockedSync> {
    if (this.lockedElsewhere) return { locked: false };
    const snapshot = await fetch();
    const written = this.stored?.hash !== snapshot.hash;
    if (written) this.stored = snapshot;
    return { locked: true, snapshot, written };
  }
}

class FakeMonitor {
  pinged: string[] = [];
  known(url: string): boolean {
    return this.pinged.includes(url);
  }
  state(): 'up' {
    return 'up';
  }
  async probe(probes: ServingProbe[]): Promise<boolean> {
    this.pinged.push(...probes.map((p) => p.url));
    return false;
  }
  due(probes: ServingProbe[]): ServingProbe[] {
    return probes;
  }
  retain(): void {}
}

const declaration: ModelDeclaration = {
  name: 'churn',
  modelUri: 'models:/churn@champion',
  reference: { name: 'churn', kind: 'alias', alias: 'champion' },
  limit: null,
  path: undefined,
  servingUrlTemplate: undefined,
  timeoutMs: undefined,
};

function setUp(config: Partial<AppConfig> = {}) {
  const holder = new RouteTableHolder();
  holder.swap(new RouteTable([], [], 'yaml', EMPTY_MODERATION, [], [declaration]));
  const repository = new FakeRepository();
  const monitor = new FakeMonitor();
  const events = new RegistryEvents();
  const changes: RegistryChangedEvent[] = [];
  events.onChanged((e) => changes.push(e));
  const service = new RegistryService(
    { ...loadAppConfig({ MLFLOW_TRACKING_URI: 'http://mlflow:5000' }), ...config },
    new FakeClient() as unknown as MlflowRegistryClient,
    repository as unknown as RegistrySnapshotRepository,
    holder,
    monitor as unknown as ServingHealthMonitor,
    events,
  );
  service.onModuleInit();
  const version = () => holder.current.getModel('churn')?.target?.version;
  return { service, holder, repository, monitor, changes, version };
}

describe('RegistryService', () => {
  beforeEach(() => {
    champion = '1';
    mlflowDown = false;
    fetches = 0;
  });

  it('syncs, stores the snapshot, swaps the predict endpoints in and emits registry.changed', async () => {
    const { service, repository, monitor, changes, version } = setUp();
    expect((await service.sync('admin')).status).toBe('synced');
    expect(version()).toBe('1');
    expect(repository.stored?.models.map((m) => m.name)).toEqual(['churn']);
    expect(monitor.pinged).toEqual(['http://score-1']);
    expect(changes).toHaveLength(1);

    expect((await service.sync('interval')).status).toBe('unchanged');
    expect(changes).toHaveLength(1);

    champion = '2';
    const moved = await service.sync('webhook');
    expect(moved).toMatchObject({ status: 'synced', trigger: 'webhook', models: 1, versions: 2 });
    expect(version()).toBe('2');
    // The new scoring server was pinged before traffic moved to it.
    expect(monitor.pinged).toEqual(['http://score-1', 'http://score-2']);
    expect(changes).toHaveLength(2);
  });

  it('coalesces triggers that arrive during a sync into one follow-up sync', async () => {
    const { service } = setUp();
    const results = await Promise.all([
      service.sync('interval'),
      service.sync('webhook'),
      service.sync('webhook'),
    ]);
    expect(fetches).toBe(2);
    expect(results[1]).toBe(results[2]);
  });

  it('keeps serving the last snapshot and reports degraded while MLflow is down', async () => {
    const { service, version } = setUp();
    await service.sync('boot');
    mlflowDown = true;
    const failed = await service.sync('interval');
    expect(failed).toMatchObject({
      status: 'failed',
      reason: 'cannot reach the MLflow tracking server (ECONNREFUSED)',
    });
    expect(version()).toBe('1');
    expect(service.health()).toMatchObject({ state: 'degraded', models: 1 });
    mlflowDown = false;
    await service.sync('interval');
    expect(service.health()).toMatchObject({ state: 'ok', lastError: null });
  });

  it('takes the stored snapshot when another replica holds the sync lock', async () => {
    const { service, repository, version } = setUp();
    repository.lockedElsewhere = true;
    repository.stored = { models: registry(), hash: 'from-the-leader', syncedAt: '2026-11-25T00:00:00.000Z' };
    const status = await service.sync('interval');
    expect(status).toMatchObject({ status: 'skipped', hash: 'from-the-leader' });
    expect(fetches).toBe(0);
    expect(version()).toBe('1');
  });

  it('syncs on its interval after boot, from the stored snapshot first', async () => {
    const { service, repository, version } = setUp({
      REGISTRY_SYNC_INTERVAL_MS: 100,
      REGISTRY_HEALTH_INTERVAL_MS: 100_000,
    });
    repository.stored = { models: registry(), hash: 'stored', syncedAt: '2026-11-25T00:00:00.000Z' };
    champion = '2';
    await service.onApplicationBootstrap();
    try {
      // Before any fetch completes, the stored snapshot (champion → 1) already serves.
      expect(service.current()?.hash).toBe('stored');
      await new Promise((r) => setTimeout(r, 400));
      expect(fetches).toBeGreaterThanOrEqual(2);
      expect(version()).toBe('2');
    } finally {
      service.onModuleDestroy();
    }
  });
});
