import { TypeOrmHealthIndicator } from '@nestjs/terminus';
import { loadAppConfig } from 'src/config/env.config';
import { ShutdownState } from 'src/infra/lifecycle/shutdown-state';
import { RedisClient } from 'src/infra/redis/redis.client';
import { HealthService } from 'src/modules/health/health.service';
import { CircuitStates } from 'src/modules/observability/metrics/circuit-states';
import { RegistryHealth, RegistryService } from 'src/modules/registry/registry.service';

describe('HealthService registry freshness', () => {
  const secondsAgo = (s: number) => new Date(Date.now() - s * 1000).toISOString();
  const service = (
    health: RegistryHealth,
    env: Record<string, string> = {},
    shutdown = new ShutdownState(),
  ) =>
    new HealthService(
      loadAppConfig({ REGISTRY_SYNC_INTERVAL_MS: '10000', ...env }),
      {
        pingCheck: () => Promise.resolve({ database: { status: 'up' } }),
      } as unknown as TypeOrmHealthIndicator,
      { configured: false } as RedisClient,
      { health: () => health } as RegistryService,
      new CircuitStates(),
      shutdown,
    );
  const base: RegistryHealth = {
    state: 'ok',
    lastSyncedAt: null,
    lastAttemptAt: null,
    lastError: null,
    models: 4,
  };

  it('is ok within 3 sync intervals, degraded past them or past HEALTH_REGISTRY_STALE_SECONDS', async () => {
    const fresh = (await service({ ...base, lastSyncedAt: secondsAgo(20) }).check()).registry;
    expect(fresh).toMatchObject({ status: 'ok', staleAfterSeconds: 30, ageSeconds: 20, models: 4 });
    const stale = (await service({ ...base, lastSyncedAt: secondsAgo(45) }).check()).registry;
    expect(stale).toMatchObject({
      status: 'degraded',
      critical: false,
      message: 'the last successful sync is older than 30 s',
    });
    const tuned = service({ ...base, lastSyncedAt: secondsAgo(45) }, { HEALTH_REGISTRY_STALE_SECONDS: '60' });
    expect((await tuned.check()).registry).toMatchObject({ status: 'ok', staleAfterSeconds: 60 });
  });

  it('is degraded before the first sync and absent when no registry is configured', async () => {
    const pending = (await service({ ...base, state: 'pending' }).check()).registry;
    expect(pending).toMatchObject({ status: 'degraded', message: 'no registry sync has succeeded yet' });
    expect((await service({ ...base, state: 'disabled' }).check()).registry).toBeUndefined();
  });

  it('fails readiness as soon as the process drains, whatever its dependencies say', async () => {
    const shutdown = new ShutdownState();
    const health = service({ ...base, lastSyncedAt: secondsAgo(1) }, {}, shutdown);
    expect(await health.ready(false)).toEqual({ status: 'ok' });
    shutdown.beginDrain();
    expect(await health.ready(false)).toEqual({ status: 'failing' });
    expect((await health.ready(true)).components).toEqual({
      lifecycle: { status: 'failing', critical: true, message: 'shutting down (draining)' },
    });
  });
});
