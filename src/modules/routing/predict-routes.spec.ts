import { parseGatewayConfig } from 'src/config/gateway-config.loader';
import { GatewayConfigError } from 'src/config/gateway-config.types';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';
import { resolveCandidates, toEntries } from 'src/modules/registry/model-endpoint.resolver';
import { RegistryModel } from 'src/modules/registry/registry.types';
import { PredictRouteEntry } from 'src/modules/routing/model-endpoint.entry';
import { buildRouteTable, RouteTable } from 'src/modules/routing/route-table';
import { pickDestination } from 'src/modules/routing/traffic/route-strategy';

/*
 * `ml/v1/predict` routes from YAML to the composed table: the loader's validation, the predict
 * endpoints' traffic keys (parsed by the LLM endpoints' parsers), and the route resolved against the
 * registry-backed entries, then picked by the shared strategy code.
 */
const registry = new ProviderRegistry();
const options = { env: {}, knownProviders: registry.knownProviders(), baseDir: '/tmp' };

function build(yaml: string): RouteTable {
  return buildRouteTable(parseGatewayConfig(yaml, options), registry, 'rev');
}

function problems(yaml: string): string[] {
  try {
    build(yaml);
  } catch (error) {
    if (error instanceof GatewayConfigError) return error.problems;
    throw error;
  }
  return [];
}

const churn: RegistryModel = {
  name: 'churn',
  description: null,
  tags: {},
  aliases: {},
  updatedAt: null,
  versions: ['3', '4'].map((version) => ({
    version,
    status: 'READY',
    stage: 'None',
    aliases: [],
    tags: { 'gatehouse.serving_url': `http://v${version}-a:5001, http://v${version}-b:5001#weight=3` },
    source: null,
    runId: null,
    createdAt: null,
  })),
};

/** The table as RouteTableHolder composes it: config table + resolved predict endpoints. */
function compose(table: RouteTable): RouteTable {
  const candidates = resolveCandidates(table.modelDeclarations, {
    snapshot: { models: [churn], hash: 'h', syncedAt: 'now' },
    reservedNames: new Set(),
    servingUrlTag: 'gatehouse.serving_url',
    servingUrlTemplate: undefined,
    exposeTag: 'gatehouse.expose',
    exposeAlias: 'champion',
    defaultTimeoutMs: 60_000,
  });
  return table.withModels(toEntries(candidates, () => 'up'));
}

const ENDPOINTS = `
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: { provider: openai, name: gpt-4o, config: { openai_api_key: sk-x } }
  - name: churn-v3
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/3" }
  - name: churn-v4
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/4" }
    gatehouse:
      load_balancing: weighted
      ejection: { consecutive_failures: 1, base_ms: 5000 }
      health_check: { path: /healthz, interval_ms: 500, unhealthy_threshold: 1 }
      retry: { attempts: 4, backoff_ms: 0 }
      circuit_breaker: { consecutive_failures: 2 }
      deadline_ms: 3000
      fallbacks: [churn-v3]
`;

describe('ml/v1/predict traffic routes', () => {
  it('resolves a split over two registry versions, with its sticky key, rules and fallbacks', () => {
    const table = compose(
      build(`${ENDPOINTS}
routes:
  - name: churn
    task_type: ml/v1/predict
    destinations:
      - { name: churn-v3, traffic_percentage: 95 }
      - { name: churn-v4, traffic_percentage: 5 }
    gatehouse:
      sticky: header:X-Customer
      rules: [{ when: { headers: { x-lane: [beta] } }, destination: churn-v4 }]
      fallbacks: [churn-v3]
`),
    );
    const route = table.getPredict('churn') as PredictRouteEntry;
    expect(route.kind).toBe('route');
    expect(route.endpointType).toBe('ml/v1/predict');
    expect(route.destinations.map((d) => [d.endpoint.name, d.endpoint.target?.version, d.upTo])).toEqual([
      ['churn-v3', '3', 95],
      ['churn-v4', '4', 100],
    ]);
    expect(route.strategy?.sticky).toEqual({ kind: 'header', name: 'x-customer' });
    expect(route.strategy?.rules.map((r) => r.endpoint.name)).toEqual(['churn-v4']);
    expect(route.fallbacks?.map((e) => e.name)).toEqual(['churn-v3']);
    // The route holds the very entries of this composition (an alias move recomposes both).
    expect(route.destinations[0].endpoint).toBe(table.getPredict('churn-v3'));
    expect(table.get('churn')).toBeUndefined();
    expect(table.predictRoutes).toEqual([route]);
  });

  it('gives predict endpoints the LLM endpoints’ balancing, ejection, health check, retry and fallbacks', () => {
    const table = compose(build(ENDPOINTS));
    const v4 = table.getModel('churn-v4')!;
    expect(v4.key).toBe('churn-v4@4');
    expect(v4.instances).toEqual({
      list: [
        { key: 'churn-v4@4#1', url: 'http://v4-a:5001', weight: 1 },
        { key: 'churn-v4@4#2', url: 'http://v4-b:5001', weight: 3 },
      ],
      algorithm: 'weighted',
      ejection: { consecutiveFailures: 1, baseMs: 5000, maxMs: 300_000 },
    });
    expect(v4.balancing.healthCheck).toEqual({
      path: '/healthz',
      intervalMs: 500,
      timeoutMs: 2000,
      unhealthyThreshold: 1,
    });
    expect(v4.resilience?.retry?.attempts).toBe(4);
    expect(v4.resilience?.breaker?.consecutiveFailures).toBe(2);
    expect(v4.resilience?.deadlineMs).toBe(3000);
    expect(v4.fallbacks?.map((e) => e.name)).toEqual(['churn-v3']);
    // Defaults without keys: round robin, ejection after 3 failures, /ping, up to 3 attempts.
    const v3 = table.getModel('churn-v3')!;
    expect(v3.instances?.algorithm).toBe('round_robin');
    expect(v3.instances?.ejection).toEqual({ consecutiveFailures: 3, baseMs: 30_000, maxMs: 300_000 });
    expect(v3.balancing.healthCheck).toBeUndefined();
    expect(v3.resilience?.retry?.attempts).toBe(2);
  });

  it('refuses a route mixing predict and LLM endpoints, in both directions, with a clear message', () => {
    const found = problems(`${ENDPOINTS}
routes:
  - name: mixed
    task_type: ml/v1/predict
    destinations:
      - { name: churn-v3, traffic_percentage: 50 }
      - { name: chat, traffic_percentage: 50 }
  - name: mixed-llm
    task_type: llm/v1/chat
    destinations:
      - { name: chat, traffic_percentage: 90 }
      - { name: churn-v4, traffic_percentage: 10 }
`);
    expect(found).toEqual([
      "routes[0] (mixed): destinations[1]: The route 'mixed' (task_type ml/v1/predict) cannot send traffic to 'chat', an llm/v1/chat endpoint: a route splits traffic across ml/v1/predict endpoints (registry models) or across LLM endpoints of one type, never both.",
      "routes[1] (mixed-llm): destinations[1]: The route 'mixed-llm' (task_type llm/v1/chat) cannot send traffic to 'churn-v4', an ml/v1/predict endpoint: a route splits traffic across ml/v1/predict endpoints (registry models) or across LLM endpoints of one type, never both.",
    ]);
  });

  it('lists every traffic problem of predict endpoints and routes with the LLM parsers’ wording', () => {
    expect(
      problems(`${ENDPOINTS}
  - name: bad
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/3" }
    gatehouse:
      load_balancing: fastest
      ejection: { consecutive_failures: 0 }
      health_check: { path: ping }
      fallbacks: [chat, bad]
routes:
  - name: r
    task_type: ml/v1/predict
    destinations: [{ name: churn-v3, traffic_percentage: 100 }]
    gatehouse:
      sticky: metadata:tier
      rules:
        - { when: { prompt_tokens: { min: 10 } }, destination: churn-v4 }
        - { when: { fields: { params.segment: gold } }, destination: chat }
      fallbacks: [nope]
`),
    ).toEqual([
      'endpoints (bad): gatehouse.load_balancing must be one of round_robin, least_outstanding, weighted.',
      'endpoints (bad): gatehouse.ejection.consecutive_failures must be an integer ≥ 1.',
      "endpoints (bad): gatehouse.health_check.path must start with '/'.",
      "endpoints (bad): gatehouse.fallbacks names 'chat', which is not an ml/v1/predict endpoint.",
      "endpoints (bad): gatehouse.fallbacks lists 'bad' twice or names itself.",
      "routes (r): gatehouse.sticky 'metadata' does not apply to an ml/v1/predict route (scoring requests have no 'metadata' field): use principal, team or header:<name>.",
      "routes (r): gatehouse.rules[0].when: 'metadata' and 'prompt_tokens' do not apply to an ml/v1/predict route: match 'headers' or body 'fields'.",
      "routes (r): gatehouse.rules[1].destination 'chat' is not an ml/v1/predict endpoint.",
      "routes (r): gatehouse.fallbacks names 'nope', which is not an ml/v1/predict endpoint.",
    ]);
  });

  it('refuses gatehouse.instances on a predict endpoint: its scoring servers come from the serving address', () => {
    expect(
      problems(`${ENDPOINTS}
  - name: bad
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/churn/3" }
    gatehouse: { instances: [http://x:1] }
`),
    ).toEqual([
      "endpoints[3] (bad): 'gatehouse.instances' does not apply to ml/v1/predict endpoints: list a version's scoring servers in its serving address (tag or serving_url_template), comma-separated, each with an optional '#weight=N'.",
    ]);
  });

  it('picks with the shared strategy: weights within 1 point over 20,000 draws, one version per sticky caller', () => {
    const route = compose(
      build(`${ENDPOINTS}
routes:
  - name: churn
    task_type: ml/v1/predict
    destinations:
      - { name: churn-v3, traffic_percentage: 90 }
      - { name: churn-v4, traffic_percentage: 10 }
    gatehouse: { sticky: principal }
`),
    ).getPredict('churn') as PredictRouteEntry;
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let v4 = 0;
    for (let i = 0; i < 20_000; i++) {
      if (pickDestination(route, route.destinations, null, {}, random).name === 'churn-v4') v4++;
    }
    expect(Math.abs(v4 / 20_000 - 0.1)).toBeLessThan(0.01);
    let stickyV4 = 0;
    for (let caller = 0; caller < 2_000; caller++) {
      const seen = new Set(
        [1, 2, 3].map(
          () =>
            pickDestination(route, route.destinations, null, { principalId: `p-${caller}` }, Math.random)
              .name,
        ),
      );
      expect(seen.size).toBe(1);
      if (seen.has('churn-v4')) stickyV4++;
    }
    expect(Math.abs(stickyV4 / 2_000 - 0.1)).toBeLessThan(0.03);
  });

  it('leaves out a destination whose endpoint is unresolved and keeps the others', () => {
    const table = build(`${ENDPOINTS}
routes:
  - name: churn
    task_type: ml/v1/predict
    destinations:
      - { name: churn-v3, traffic_percentage: 95 }
      - { name: churn-v4, traffic_percentage: 5 }
`);
    // Before composition there are no predict entries: no route yet.
    expect(table.getPredict('churn')).toBeUndefined();
    expect(table.predictRouteDeclarations.map((d) => d.name)).toEqual(['churn']);
  });
});
