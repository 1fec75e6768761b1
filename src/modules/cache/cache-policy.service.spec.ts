import { Logger } from '@nestjs/common';
import { loadAppConfig } from 'src/config/env.config';
import { CachePolicyInput } from 'src/modules/cache/cache-policy';
import { CachePolicyRepository } from 'src/modules/cache/cache-policy.repository';
import { CachePolicyService } from 'src/modules/cache/cache-policy.service';

/** The overrides table as another replica sees it; `list` can be held to simulate a slow read. */
function fakeRepository() {
  const rows = new Map<string, CachePolicyInput>();
  let hold: Promise<void> | undefined;
  const repository = {
    list: async () => {
      const snapshot = new Map(rows);
      if (hold) await hold;
      return snapshot;
    },
    upsert: async (name: string, policy: CachePolicyInput) => {
      rows.set(name, policy);
    },
    remove: async (name: string) => rows.delete(name),
  };
  return {
    rows,
    repository: repository as unknown as CachePolicyRepository,
    holdReads: () => {
      let release!: () => void;
      hold = new Promise<void>((resolve) => (release = resolve));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('CachePolicyService', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('layers overrides over YAML, and picks up other replicas’ overrides on refresh', async () => {
    jest.useFakeTimers();
    const fake = fakeRepository();
    fake.rows.set('a', { ttlSeconds: 5 });
    const service = new CachePolicyService(
      loadAppConfig({ CACHE_DEFAULT_TTL_SECONDS: '100' }),
      fake.repository,
    );
    await service.onApplicationBootstrap();
    expect(service.effective({ name: 'a', cache: undefined })).toMatchObject({
      enabled: true,
      ttlSeconds: 5,
    });
    expect(service.effective({ name: 'b', cache: { scope: 'key' } })).toEqual({
      enabled: true,
      ttlSeconds: 100,
      scope: 'key',
      requests: 'deterministic',
    });
    expect(service.view({ name: 'c', cache: undefined })).toMatchObject({
      source: 'default',
      policy: { enabled: false },
    });

    fake.rows.set('b', { enabled: false });
    jest.advanceTimersByTime(15_000);
    await flush();
    expect(service.view({ name: 'b', cache: { scope: 'key' } })).toMatchObject({
      source: 'override',
      policy: { enabled: false, scope: 'key' },
    });
    service.onModuleDestroy();
  });

  it('never lets a refresh that read the table before a local write undo it', async () => {
    jest.useFakeTimers();
    const fake = fakeRepository();
    const service = new CachePolicyService(loadAppConfig({}), fake.repository);
    await service.onApplicationBootstrap();
    const release = fake.holdReads();
    jest.advanceTimersByTime(15_000); // a refresh starts and reads the (empty) table
    await service.setOverride('a', { ttlSeconds: 9 });
    release();
    await flush();
    expect(service.effective({ name: 'a', cache: undefined })).toMatchObject({
      enabled: true,
      ttlSeconds: 9,
    });
    expect(await service.removeOverride('a')).toBe(true);
    expect(service.effective({ name: 'a', cache: undefined }).enabled).toBe(false);
    service.onModuleDestroy();
  });
});
