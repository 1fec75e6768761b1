import { parseModelUri } from 'src/config/model-uri';
import { HealthState, resolveCandidates, toEntries } from 'src/modules/registry/model-endpoint.resolver';
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

  it('reads a comma- or space-separated serving address as instances', () => {
    const [candidate] = resolve('http://a:5001/, http://b:5001  http://c:5001,http://a:5001');
    expect(candidate.target).toEqual({
      version: '1',
      url: 'http://a:5001',
      instances: ['http://a:5001', 'http://b:5001', 'http://c:5001'],
    });
    expect(resolve('http://a:5001')[0].target).toEqual({ version: '1', url: 'http://a:5001' });
  });

  it('refuses the version when any listed address is invalid or outside the allowed hosts', () => {
    expect(resolve('http://a:5001, ftp://b')[0].unavailable).toMatch(/invalid serving address/);
    expect(resolve('http://a:5001, http://evil:1', new Set(['a']))[0].unavailable).toMatch(
      /outside REGISTRY_SERVING_HOSTS/,
    );
  });

  it('instances failing /ping leave the rotation; the version is unavailable only when all fail', () => {
    const candidates = resolve('http://a:5001,http://b:5001,http://c:5001');
    const health =
      (down: string[]) =>
      (url: string): HealthState =>
        down.includes(url) ? 'down' : 'up';
    expect(toEntries(candidates, health(['http://a:5001']))[0].target).toEqual({
      version: '1',
      url: 'http://b:5001',
      instances: ['http://b:5001', 'http://c:5001'],
    });
    expect(toEntries(candidates, health(['http://a:5001', 'http://c:5001']))[0].target).toEqual({
      version: '1',
      url: 'http://b:5001',
    });
    const none = toEntries(candidates, health(['http://a:5001', 'http://b:5001', 'http://c:5001']))[0];
    expect(none.target).toBeUndefined();
    expect(none.unavailable).toMatch(/failed its health check/);
  });
});
