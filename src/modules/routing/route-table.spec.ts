import { GatewayConfigError, GatewayFileConfig } from 'src/config/gateway-config.types';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';
import { buildRouteTable, RouteTable } from 'src/modules/routing/route-table';

const endpoint = (
  name: string,
  provider = 'openai',
  config: Record<string, unknown> = { openai_api_key: 'k' },
  extensions = {},
) => ({
  name,
  endpointType: 'llm/v1/chat' as const,
  model: { provider, rawProvider: provider, name: 'gpt-4o', config },
  limit: null,
  extensions,
});

function fileConfig(overrides: Partial<GatewayFileConfig> = {}): GatewayFileConfig {
  return { endpoints: [endpoint('a'), endpoint('b')], routes: [], extensions: {}, ...overrides };
}

describe('buildRouteTable', () => {
  const registry = new ProviderRegistry();

  it('resolves endpoints and routes by name', () => {
    const table = buildRouteTable(
      fileConfig({
        routes: [
          {
            name: 'r',
            taskType: 'llm/v1/chat',
            routingStrategy: 'TRAFFIC_SPLIT',
            destinations: [
              { name: 'a', trafficPercentage: 80 },
              { name: 'b', trafficPercentage: 20 },
            ],
          },
        ],
      }),
      registry,
      'rev1',
    );
    expect(table.get('a')?.kind).toBe('endpoint');
    expect(table.get('r')?.kind).toBe('route');
    expect(table.get('missing')).toBeUndefined();
    expect(table.revision).toBe('rev1');
  });

  it('splits traffic by the configured percentages', () => {
    const table = buildRouteTable(
      fileConfig({
        routes: [
          {
            name: 'r',
            taskType: 'llm/v1/chat',
            routingStrategy: 'TRAFFIC_SPLIT',
            destinations: [
              { name: 'a', trafficPercentage: 80 },
              { name: 'b', trafficPercentage: 20 },
            ],
          },
        ],
      }),
      registry,
      'rev',
    );
    const route = table.get('r')!;
    expect(RouteTable.pick(route, () => 0).name).toBe('a');
    expect(RouteTable.pick(route, () => 0.7999).name).toBe('a');
    expect(RouteTable.pick(route, () => 0.8).name).toBe('b');
    expect(RouteTable.pick(route, () => 0.99999).name).toBe('b');
    let seeded = 42;
    const random = () => (seeded = (seeded * 16807) % 2147483647) / 2147483647;
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 10_000; i++) counts[RouteTable.pick(route, random).name as 'a' | 'b']++;
    expect(counts.a / 10_000).toBeGreaterThan(0.78);
    expect(counts.a / 10_000).toBeLessThan(0.82);
  });

  it('collects every provider config problem with its location', () => {
    let error: GatewayConfigError | undefined;
    try {
      buildRouteTable(
        fileConfig({
          endpoints: [
            endpoint('no-key', 'openai', {}),
            endpoint('azure-missing', 'openai', { openai_api_key: 'k', openai_api_type: 'azure' }),
            endpoint('bad-timeout', 'openai', { openai_api_key: 'k' }, { timeout_ms: -5 }),
          ],
        }),
        registry,
        'rev',
      );
    } catch (e) {
      error = e as GatewayConfigError;
    }
    expect(error).toBeInstanceOf(GatewayConfigError);
    expect(error!.problems).toHaveLength(3);
    expect(error!.problems[0]).toBe(
      "endpoints[0] (no-key): 'openai_api_key' is required in model.config for provider 'openai'.",
    );
    expect(error!.problems[1]).toContain('endpoints[1] (azure-missing)');
    expect(error!.problems[2]).toBe(
      'endpoints[2] (bad-timeout): gatehouse.timeout_ms must be a positive integer (milliseconds).',
    );
  });

  it('reads per-endpoint timeouts from the gatehouse extension', () => {
    const table = buildRouteTable(
      fileConfig({
        endpoints: [
          endpoint('t', 'openai', { openai_api_key: 'k' }, { timeout_ms: 1500, stream_idle_timeout_ms: 700 }),
        ],
      }),
      registry,
      'rev',
    );
    expect(table.endpoints[0].timeouts).toEqual({ headersMs: 1500, idleMs: 700 });
  });

  it('gives predict endpoints their own cache policy over the top-level defaults, and reports bad ones', () => {
    const predict = (name: string, cache?: unknown) => ({
      name,
      modelUri: 'models:/churn@champion',
      reference: { name: 'churn', kind: 'alias' as const, alias: 'champion' },
      limit: null,
      path: undefined,
      servingUrlTemplate: undefined,
      timeoutMs: undefined,
      ...(cache === undefined ? {} : { cache }),
    });
    const table = buildRouteTable(
      fileConfig({
        extensions: { cache: { ttl_seconds: 60 } },
        modelEndpoints: [predict('own', { scope: 'global' }), predict('plain')],
      }),
      registry,
      'rev1',
    );
    expect(table.modelDeclarations.map((d) => d.cache)).toEqual([
      { ttlSeconds: 60, scope: 'global' },
      { ttlSeconds: 60 },
    ]);
    expect(table.cacheDefaults).toEqual({ ttlSeconds: 60 });
    expect(() =>
      buildRouteTable(fileConfig({ modelEndpoints: [predict('bad', { scope: 'world' })] }), registry, 'r'),
    ).toThrow('endpoints (bad): gatehouse.cache.scope must be one of team, global, key.');
  });
});
