import { GatewayConfigError, GatewayFileConfig } from 'src/config/gateway-config.types';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';
import { buildRouteTable, EndpointEntry } from 'src/modules/routing/route-table';

const endpoint = (name: string, extensions: Record<string, unknown> = {}) => ({
  name,
  endpointType: 'llm/v1/chat' as const,
  model: { provider: 'openai', rawProvider: 'openai', name: 'gpt-4o', config: { openai_api_key: 'k' } },
  limit: null,
  extensions,
});

function build(config: Partial<GatewayFileConfig>): readonly EndpointEntry[] {
  return buildRouteTable(
    { endpoints: [], routes: [], extensions: {}, ...config },
    new ProviderRegistry(),
    'rev',
  ).endpoints;
}

describe('gatehouse.cache in gateway.yaml', () => {
  it('layers an endpoint block over the top-level defaults', () => {
    const [a, b, c] = build({
      extensions: { cache: { ttl_seconds: 600, scope: 'global' } },
      endpoints: [
        endpoint('a'),
        endpoint('b', { cache: { scope: 'key' } }),
        endpoint('c', { cache: { enabled: false } }),
      ],
    });
    expect(a.cache).toEqual({ ttlSeconds: 600, scope: 'global' });
    expect(b.cache).toEqual({ ttlSeconds: 600, scope: 'key' });
    expect(c.cache).toEqual({ ttlSeconds: 600, scope: 'global', enabled: false });
  });

  it('leaves endpoints without any cache block uncached', () => {
    expect(build({ endpoints: [endpoint('a')] })[0].cache).toBeUndefined();
  });

  it('refuses the whole file on a bad cache setting, naming the endpoint', () => {
    let error: unknown;
    try {
      build({ endpoints: [endpoint('a', { cache: { ttl_seconds: -1 } })] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GatewayConfigError);
    expect((error as GatewayConfigError).problems).toEqual([
      'endpoints[0] (a): gatehouse.cache.ttl_seconds must be an integer from 1 to 2592000.',
    ]);
  });
});
