import { parseGatewayConfig } from 'src/config/gateway-config.loader';
import { GatewayConfigError } from 'src/config/gateway-config.types';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';
import { buildRouteTable, TrafficRouteEntry } from 'src/modules/routing/route-table';
import { PickContext, pickDestination } from 'src/modules/routing/traffic/route-strategy';

const registry = new ProviderRegistry();

const endpoint = (name: string, model = 'gpt-4o-mini', type = 'llm/v1/chat') => `
  - name: ${name}
    endpoint_type: ${type}
    model: {provider: openai, name: ${model}, config: {openai_api_key: sk-test}}`;

function table(yaml: string, revision = 'r1') {
  const config = parseGatewayConfig(yaml, {
    env: {},
    knownProviders: registry.knownProviders(),
    baseDir: '/tmp',
  });
  return buildRouteTable(config, registry, revision);
}

const route = (t: ReturnType<typeof table>, name: string) => t.get(name) as TrafficRouteEntry;
const pick = (r: TrafficRouteEntry, ctx: PickContext, random: () => number = Math.random) =>
  pickDestination(r, r.destinations, null, ctx, random).name;

function seededRandom(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 16807) % 2147483647) / 2147483647;
}

const split = (champion: number, extra = '', sticky = '') => `
endpoints:
${endpoint('champion')}
${endpoint('challenger', 'gpt-4o')}
${endpoint('big', 'gpt-4.1')}
${endpoint('cheap', 'gpt-4.1-nano')}
${extra}
routes:
  - name: ab
    task_type: llm/v1/chat
    destinations:
      - {name: champion, traffic_percentage: ${champion}}
      - {name: challenger, traffic_percentage: ${100 - champion}}
${sticky}
`;

describe('route strategies', () => {
  it('a weighted split holds its ratio over 10,000 picks within ±2 percentage points', () => {
    for (const [champion, seed] of [
      [95, 1],
      [80, 2],
      [50, 3],
    ] as const) {
      const r = route(table(split(champion)), 'ab');
      const random = seededRandom(seed);
      let hits = 0;
      for (let i = 0; i < 10_000; i++) if (pick(r, {}, random) === 'champion') hits++;
      expect(Math.abs((hits / 10_000) * 100 - champion)).toBeLessThan(2);
    }
  });

  it('sticky by principal: each of 1,000 callers keeps its variant across a config reload, and the split holds', () => {
    const sticky = '    gatehouse: {sticky: principal}';
    const before = route(table(split(80, '', sticky), 'rev-1'), 'ab');
    // A reload: a new table (another endpoint added, a new revision), same weights.
    const after = route(table(split(80, endpoint('extra'), sticky), 'rev-2'), 'ab');
    expect(after).not.toBe(before);
    let champion = 0;
    for (let i = 0; i < 1_000; i++) {
      const ctx = { principalId: `principal-${i}` };
      const first = pick(before, ctx);
      // Random draws must not matter for a sticky caller.
      expect(pick(before, ctx, () => 0.999)).toBe(first);
      expect(pick(after, ctx, () => 0)).toBe(first);
      if (first === 'champion') champion++;
    }
    expect(champion / 1_000).toBeGreaterThan(0.76);
    expect(champion / 1_000).toBeLessThan(0.84);
  });

  it('sticky callers of the canary stay on it when its weight grows (5% → 25%)', () => {
    const sticky = '    gatehouse: {sticky: {key: "header:x-user-id"}}';
    // challenger is the canary: champion 95 → 75
    const small = route(table(split(95, '', sticky)), 'ab');
    const large = route(table(split(75, '', sticky)), 'ab');
    let moved = 0;
    let canary = 0;
    for (let i = 0; i < 1_000; i++) {
      const ctx = { headers: { 'x-user-id': `user-${i}` } };
      const a = pick(small, ctx);
      const b = pick(large, ctx);
      if (a === 'challenger') {
        canary++;
        expect(b).toBe('challenger');
      }
      if (a !== b) moved++;
    }
    expect(canary).toBeGreaterThan(20);
    // Only callers in the grown band move: about 20% of them.
    expect(moved / 1_000).toBeGreaterThan(0.16);
    expect(moved / 1_000).toBeLessThan(0.24);
  });

  it('sticky on a metadata key, a team, the OpenAI user field; a missing key falls back to a random draw', () => {
    for (const [key, ctxOf] of [
      ['metadata:customer', (v: string) => ({ body: { metadata: { customer: v } } })],
      ['team', (v: string) => ({ teamId: v })],
      ['user', (v: string) => ({ body: { user: v } })],
    ] as const) {
      const r = route(table(split(50, '', `    gatehouse: {sticky: "${key}"}`)), 'ab');
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const ctx = ctxOf(`v-${i}`);
        const first = pick(r, ctx, () => 0);
        expect(pick(r, ctx, () => 0.99)).toBe(first);
        seen.add(first);
      }
      expect(seen.size).toBe(2);
      expect(pick(r, {}, () => 0)).toBe('champion');
      expect(pick(r, {}, () => 0.99)).toBe('challenger');
    }
  });

  it('content rules: the first matching rule wins, else the weighted default', () => {
    const rules = `    gatehouse:
      rules:
        - when: {metadata: {tier: premium}}
          destination: big
        - when: {prompt_tokens: {min: 1000}}
          destination: big
        - when: {headers: {x-route: [cheap, budget]}, prompt_tokens: {max: 50}}
          destination: cheap
        - when: {fields: {response_format.type: json_object}}
          destination: challenger`;
    const r = route(table(split(100, '', rules)), 'ab');
    const chat = (content: string, extra: Record<string, unknown> = {}) => ({
      messages: [{ role: 'user', content }],
      ...extra,
    });
    expect(pick(r, { body: chat('hi', { metadata: { tier: 'premium' } }) })).toBe('big');
    expect(pick(r, { body: chat('hi', { metadata: { tier: 'free' } }) })).toBe('champion');
    expect(pick(r, { body: chat('x'.repeat(4_000)) })).toBe('big');
    expect(pick(r, { body: chat('x'.repeat(3_900)) })).toBe('champion');
    expect(pick(r, { body: chat('short', {}), headers: { 'x-route': 'budget' } })).toBe('cheap');
    expect(pick(r, { body: chat('x'.repeat(400)), headers: { 'x-route': 'cheap' } })).toBe('champion');
    expect(pick(r, { body: chat('hi', { response_format: { type: 'json_object' } }) })).toBe('challenger');
    // Order: premium beats everything after it.
    expect(
      pick(r, { body: chat('hi', { metadata: { tier: 'premium' } }), headers: { 'x-route': 'cheap' } }),
    ).toBe('big');
    // A rule whose destination the caller may not reach is skipped.
    expect(
      pickDestination(
        r,
        r.destinations,
        (n) => n !== 'big',
        { body: chat('hi', { metadata: { tier: 'premium' } }) },
        Math.random,
      ).name,
    ).toBe('champion');
  });

  it('route and endpoint extensions are validated with their location', () => {
    const bad = `
endpoints:
${endpoint('a')}
  - name: e
    endpoint_type: llm/v1/embeddings
    model: {provider: openai, name: text-embedding-3-small, config: {openai_api_key: k}}
    gatehouse: {fallbacks: [a]}
  - name: b
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o, config: {openai_api_key: k}}
    gatehouse:
      fallbacks: [b, nope]
      retry: {attempts: 0, backof_ms: 1}
      circuit_breaker: {error_rate: 2}
      instances: []
routes:
  - name: r
    task_type: llm/v1/chat
    destinations: [{name: a, traffic_percentage: 100}]
    gatehouse: {sticky: cookie, rules: [{when: {metadata: {x: 1}}, destination: e}]}
`;
    let problems: string[] = [];
    try {
      table(bad);
    } catch (error) {
      problems = (error as GatewayConfigError).problems;
    }
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/endpoints\[2\] \(b\).*retry\.attempts must be an integer ≥ 1/),
        expect.stringMatching(/\(b\).*retry\.backof_ms is not a known key/),
        expect.stringMatching(/\(b\).*circuit_breaker\.error_rate must be a number in \(0, 1\]/),
        expect.stringMatching(/\(b\).*instances must be a non-empty list/),
        expect.stringMatching(/endpoints \(b\).*fallbacks lists 'b' twice or names itself/),
        expect.stringMatching(/endpoints \(b\).*fallbacks names 'nope', which is not an endpoint/),
        expect.stringMatching(/endpoints \(e\).*'a' is not a llm\/v1\/embeddings endpoint/),
        expect.stringMatching(/routes \(r\).*sticky must be principal, team/),
        expect.stringMatching(/routes \(r\).*rules\[0\]\.destination 'e' is not a llm\/v1\/chat endpoint/),
      ]),
    );
  });

  it('plain MLflow endpoints and routes carry no traffic policy (the fast path)', () => {
    const t = table(split(80));
    const r = route(t, 'ab');
    expect(r.strategy).toBeUndefined();
    expect(r.fallbacks).toBeUndefined();
    for (const e of t.endpoints) {
      expect(e.resilience).toBeUndefined();
      expect(e.fallbacks).toBeUndefined();
      expect(e.instances).toBeUndefined();
    }
  });

  it('parses resilience, fallbacks and instances with defaults', () => {
    const t = table(`
endpoints:
${endpoint('backup')}
  - name: main
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o, config: {openai_api_key: k, openai_api_base: "http://a:1/v1"}}
    gatehouse:
      deadline_ms: 5000
      retry: {attempts: 3, backoff_ms: 50}
      circuit_breaker: {consecutive_failures: 2}
      fallbacks: [backup]
      load_balancing: least_outstanding
      health_check: {path: /health}
      instances:
        - {name: east, config: {openai_api_base: "http://east:1/v1"}}
        - {name: west, weight: 3, config: {openai_api_base: "http://west:1/v1"}}
`);
    const main = t.get('main');
    expect(main?.kind).toBe('endpoint');
    if (main?.kind !== 'endpoint') return;
    expect(main.resilience).toEqual({
      deadlineMs: 5000,
      retry: {
        attempts: 3,
        backoffMs: 50,
        maxBackoffMs: 2000,
        retryAfterCapMs: 5000,
        budget: { ratio: 0.2, minRetries: 3, windowMs: 10_000 },
      },
      breaker: {
        consecutiveFailures: 2,
        errorRate: undefined,
        minRequests: 20,
        windowMs: 10_000,
        cooldownMs: 30_000,
      },
    });
    expect(main.fallbacks?.map((f) => f.name)).toEqual(['backup']);
    expect(main.instances?.algorithm).toBe('least_outstanding');
    expect(main.instances?.list.map((i) => [i.key, i.weight, i.healthUrl])).toEqual([
      ['main#east', 1, 'http://east:1/health'],
      ['main#west', 3, 'http://west:1/health'],
    ]);
    expect(main.instances?.ejection).toEqual({ consecutiveFailures: 3, baseMs: 30_000, maxMs: 300_000 });
  });
});
