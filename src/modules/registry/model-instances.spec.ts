import { parseModelUri } from 'src/config/model-uri';
import {
  HealthState,
  probesOf,
  resolveCandidates,
  toEntries,
} from 'src/modules/registry/model-endpoint.resolver';
import { RegistryModel } from 'src/modules/registry/registry.types';

/** Several scoring servers behind one model version (traffic item: instances of one target). */
describe('predict endpoints with several scoring servers', () => {
  const reference = parseModelUri('models:/churn@champion');
  if (typeof reference === 'string') throw new Error(reference);
  const declaration = {
    name: 'churn',
    modelUri: 'models:/churn@champion',
    reference,
    limit: null,
    path: undefined,
    servingUrlTemplate: undefined,
    timeoutMs: undefined,
  };
  const registry = (address: string): RegistryModel => ({
    name: 'churn',
    description: null,
    tags: {},
    aliases: { champion: '1' },
    updatedAt: null,
    versions: [
      {
        version: '1',
        status: 'READY',
        stage: 'None',
        aliases: ['champion'],
        tags: { 'gatehouse.serving_url': address },
        source: null,
        runId: null,
        createdAt: null,
      },
    ],
  });
  const resolve = (address: string, allowedHosts?: ReadonlySet<string>) =>
    resolveCandidates([declaration], {
      snapshot: { models: [registry(address)], hash: 'h', syncedAt: '2026-11-25T00:00:00.000Z' },
      reservedNames: new Set(),
      servingUrlTag: 'gatehouse.serving_url',
      servingUrlTemplate: undefined,
      exposeTag: 'gatehouse.expose',
      exposeAlias: 'champion',
      defaultTimeoutMs: 60_000,
      ...(allowedHosts ? { allowedHosts } : {}),
    });

  const instance = (n: number, host: string, weight = 1) => ({
    key: `churn@1#${n}`,
    url: `http://${host}:5001`,
    weight,
  });

  it('reads a comma- or space-separated serving address as instances, with #weight=N', () => {
    const [candidate] = resolve('http://a:5001/, http://b:5001#weight=3  http://c:5001,http://a:5001');
    expect(candidate.target).toEqual({
      version: '1',
      url: 'http://a:5001',
      instances: [instance(1, 'a'), instance(2, 'b', 3), instance(3, 'c')],
      // From a registry tag with no REGISTRY_SERVING_HOSTS: the allow-listed pool.
      restricted: true,
    });
    expect(resolve('http://a:5001')[0].target).toEqual({
      version: '1',
      url: 'http://a:5001',
      restricted: true,
    });
  });

  it('refuses the version when any listed address is invalid or outside the allowed hosts', () => {
    expect(resolve('http://a:5001, ftp://b')[0].unavailable).toMatch(/invalid serving address/);
    expect(resolve('http://a:5001#weight=0, http://b:5001')[0].unavailable).toMatch(
      /invalid serving address/,
    );
    expect(resolve('http://a:5001#w=2')[0].unavailable).toMatch(/invalid serving address/);
    expect(resolve('http://a:5001, http://evil:1', new Set(['a']))[0].unavailable).toMatch(
      /outside REGISTRY_SERVING_HOSTS/,
    );
  });

  it('instances failing their check leave the rotation (keys stay by position); unavailable only when all fail', () => {
    const candidates = resolve('http://a:5001,http://b:5001,http://c:5001');
    const health =
      (down: string[]) =>
      (url: string): HealthState =>
        down.includes(url) ? 'down' : 'up';
    const [twoUp] = toEntries(candidates, health(['http://a:5001']));
    expect(twoUp.target).toEqual({
      version: '1',
      url: 'http://b:5001',
      instances: [instance(2, 'b'), instance(3, 'c')],
    });
    expect(twoUp.key).toBe('churn@1');
    expect(twoUp.instances).toEqual({
      list: [instance(2, 'b'), instance(3, 'c')],
      algorithm: 'round_robin',
      ejection: { consecutiveFailures: 3, baseMs: 30_000, maxMs: 300_000 },
    });
    // Several scoring servers and no gatehouse.retry: up to 3 attempts, here 2 (one per instance).
    expect(twoUp.resilience?.retry?.attempts).toBe(2);
    // One left: it keeps its label (#2), and there is nothing to retry on.
    const [oneUp] = toEntries(candidates, health(['http://a:5001', 'http://c:5001']));
    expect(oneUp.target).toEqual({ version: '1', url: 'http://b:5001', instances: [instance(2, 'b')] });
    expect(oneUp.instances?.list).toEqual([instance(2, 'b')]);
    expect(oneUp.resilience?.retry?.attempts).toBe(1);
    const none = toEntries(candidates, health(['http://a:5001', 'http://b:5001', 'http://c:5001']))[0];
    expect(none.target).toBeUndefined();
    expect(none.key).toBe('churn');
    expect(none.unavailable).toMatch(/failed its health check/);
  });

  it('carries the declared balancing, retry and fallbacks onto the entries', () => {
    const balancing = {
      algorithm: 'least_outstanding' as const,
      ejection: { consecutiveFailures: 1, baseMs: 5_000, maxMs: 5_000 },
      healthCheck: { path: '/healthz', intervalMs: 500, timeoutMs: 300, unhealthyThreshold: 1 },
    };
    const retry = {
      attempts: 5,
      backoffMs: 0,
      maxBackoffMs: 0,
      retryAfterCapMs: 0,
      budget: { ratio: 1, minRetries: 10, windowMs: 1000 },
    };
    const snapshot = { models: [registry('http://a:5001,http://b:5001')], hash: 'h', syncedAt: 'now' };
    const options = {
      snapshot,
      reservedNames: new Set<string>(),
      servingUrlTag: 'gatehouse.serving_url',
      servingUrlTemplate: undefined,
      exposeTag: 'gatehouse.expose',
      exposeAlias: 'champion',
      defaultTimeoutMs: 60_000,
    };
    const candidates = resolveCandidates(
      [
        {
          ...declaration,
          balancing,
          resilience: { retry, breaker: undefined, deadlineMs: 900 },
          fallbacks: ['other'],
        },
        { ...declaration, name: 'other' },
      ],
      options,
    );
    const [main, other] = toEntries(candidates, () => 'up');
    expect(main.instances?.algorithm).toBe('least_outstanding');
    expect(main.instances?.ejection).toEqual(balancing.ejection);
    expect(main.resilience).toEqual({ retry, breaker: undefined, deadlineMs: 900 });
    expect(main.fallbacks).toEqual([other]);
    expect(probesOf(candidates)).toEqual([
      { url: 'http://a:5001', check: balancing.healthCheck, restricted: true },
      { url: 'http://b:5001', check: balancing.healthCheck, restricted: true },
    ]);
  });
});
