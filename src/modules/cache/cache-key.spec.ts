import { Principal } from 'src/common/auth/principal';
import {
  buildCacheKey,
  buildPredictionKey,
  CacheKeyInput,
  canonicalJson,
  encodeSegment,
  invalidationPattern,
  matchesFilter,
  PredictionKeyInput,
} from 'src/modules/cache/cache-key';
import { CanonicalRequest } from 'src/modules/providers/provider-adapter';
import { principalFixture } from 'test/fixtures/principal.fixture';

function principal(teamId: string | null, apiKeyId: string | null, id = 'p1'): Principal {
  return principalFixture({ id, name: id, teamId, apiKeyId });
}

const endpoint = { name: 'chat', provider: 'openai', modelName: 'gpt-4o-mini' };
const request: CanonicalRequest = {
  model: 'chat',
  messages: [{ role: 'user', content: 'hi' }],
  temperature: 0,
};

function key(overrides: Partial<CacheKeyInput> = {}): string {
  return buildCacheKey({ scope: 'team', principal: undefined, endpoint, op: 'chat', request, ...overrides })
    .key;
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined values', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });
});

describe('buildCacheKey', () => {
  it('keeps two teams apart and lets one team share', () => {
    const teamA1 = key({ principal: principal('team-a', 'key-1', 'alice') });
    const teamA2 = key({ principal: principal('team-a', 'key-2', 'bob') });
    const teamB = key({ principal: principal('team-b', 'key-3', 'carol') });
    expect(teamA1).toBe(teamA2);
    expect(teamA1).not.toBe(teamB);
    expect(teamA1).toContain(':t.team-a:');
    expect(teamB).toContain(':t.team-b:');
  });

  it('shares across teams only with the global scope, and splits per key with the key scope', () => {
    const a = principal('team-a', 'key-1');
    const b = principal('team-b', 'key-2');
    expect(key({ scope: 'global', principal: a })).toBe(key({ scope: 'global', principal: b }));
    expect(key({ scope: 'key', principal: a })).not.toBe(
      key({ scope: 'key', principal: principal('team-a', 'key-9') }),
    );
    expect(key({ scope: 'key', principal: a })).toContain(':t.team-a.k.key-1:');
    // A JWT caller has no API key: its principal id is the unit.
    expect(key({ scope: 'key', principal: principal('team-a', null, 'svc') })).toContain('.k.svc:');
  });

  it('treats a missing principal as the anonymous team', () => {
    expect(key()).toContain(':t.-:');
    expect(key({ principal: principal(null, null) })).toBe(key());
  });

  it('ignores delivery fields and key order, but not anything that changes the answer', () => {
    const base = key();
    expect(key({ request: { ...request, stream: true, stream_options: { include_usage: true } } })).toBe(
      base,
    );
    expect(key({ request: { ...request, user: 'u-1', model: 'other-alias' } })).toBe(base);
    expect(key({ request: { temperature: 0, messages: [{ content: 'hi', role: 'user' }] } })).toBe(base);
    expect(key({ request: { ...request, max_tokens: 5 } })).not.toBe(base);
    expect(key({ request: { ...request, messages: [{ role: 'user', content: 'hi!' }] } })).not.toBe(base);
    expect(key({ request: { ...request, tools: [] } })).not.toBe(base);
    expect(key({ op: 'completions' })).not.toBe(base);
  });

  it('changes when the endpoint is pointed at another model or provider', () => {
    expect(key({ endpoint: { ...endpoint, modelName: 'gpt-4o' } })).not.toBe(key());
    expect(key({ endpoint: { ...endpoint, provider: 'anthropic' } })).not.toBe(key());
    expect(key({ endpoint: { ...endpoint, name: 'chat-2' } })).not.toBe(key());
  });

  it('encodes ids so they cannot break the key layout or Redis glob patterns', () => {
    expect(encodeSegment('a:b*c?[d].e')).toBe('a%3ab%2ac%3f%5bd%5d%2ee');
    const tricky = key({ principal: principal('x:*', null) });
    expect(tricky.split(':')).toHaveLength(5);
  });
});

describe('invalidation filters', () => {
  const teamKey = key({ principal: principal('team-a', 'k1') });
  const keyScoped = key({ scope: 'key', principal: principal('team-a', 'k1') });
  const other = key({ principal: principal('team-ab', 'k1') });
  const globalKey = key({ scope: 'global' });

  it('match by endpoint, by team (team and key scope, not global) and all', () => {
    expect([teamKey, keyScoped, other, globalKey].every((k) => matchesFilter(k, {}))).toBe(true);
    expect(matchesFilter(teamKey, { teamId: 'team-a' })).toBe(true);
    expect(matchesFilter(keyScoped, { teamId: 'team-a' })).toBe(true);
    expect(matchesFilter(other, { teamId: 'team-a' })).toBe(false);
    expect(matchesFilter(globalKey, { teamId: 'team-a' })).toBe(false);
    expect(matchesFilter(teamKey, { endpoint: 'chat' })).toBe(true);
    expect(matchesFilter(teamKey, { endpoint: 'cha' })).toBe(false);
    expect(matchesFilter(teamKey, { endpoint: 'chat', teamId: 'team-b' })).toBe(false);
  });

  it('build Redis patterns that select the same keys', () => {
    expect(invalidationPattern({})).toBe('cache:v1:*:*');
    expect(invalidationPattern({ endpoint: 'chat' })).toBe('cache:v1:chat:*');
    expect(invalidationPattern({ teamId: 'team-a' })).toBe('cache:v1:*:t.team-a[:.]*');
    expect(invalidationPattern({ endpoint: 'chat', teamId: null })).toBe('cache:v1:chat:t.-[:.]*');
  });
});

describe('buildPredictionKey', () => {
  const body = { dataframe_split: { columns: ['a', 'b'], data: [[1, 2]] } };
  const predictionKey = (overrides: Partial<PredictionKeyInput> = {}): string =>
    buildPredictionKey({
      scope: 'team',
      principal: principal('team-a', 'key-1'),
      endpoint: 'iris',
      registeredModel: 'iris-model',
      version: '1',
      body: { json: body },
      ...overrides,
    }).key;

  it('changes with the model version, so an alias move never serves the old version', () => {
    expect(predictionKey({ version: '2' })).not.toBe(predictionKey());
    expect(predictionKey({ version: '1' })).toBe(predictionKey());
  });

  it('keys JSON bodies canonically, CSV bodies by their text, and never mixes the two', () => {
    const reordered = { dataframe_split: { data: [[1, 2]], columns: ['a', 'b'] } };
    expect(predictionKey({ body: { json: reordered } })).toBe(predictionKey());
    expect(predictionKey({ body: { json: { ...body, params: { k: 1 } } } })).not.toBe(predictionKey());
    const csv = predictionKey({ body: { csv: 'a,b\n1,2\n' } });
    expect(csv).toBe(predictionKey({ body: { csv: 'a,b\n1,2\n' } }));
    expect(csv).not.toBe(predictionKey({ body: { csv: 'a,b\n1,3\n' } }));
    expect(predictionKey({ body: { json: 'a,b\n1,2\n' } })).not.toBe(csv);
  });

  it('keeps teams, endpoints and models apart, and uses the invalidation layout', () => {
    expect(predictionKey({ principal: principal('team-b', 'key-1') })).not.toBe(predictionKey());
    expect(predictionKey({ scope: 'global', principal: principal('team-b', 'key-9') })).toBe(
      predictionKey({ scope: 'global' }),
    );
    expect(predictionKey({ endpoint: 'iris-2' })).not.toBe(predictionKey());
    expect(predictionKey({ registeredModel: 'other' })).not.toBe(predictionKey());
    const key = predictionKey();
    expect(key).toMatch(/^cache:v1:iris:t\.team-a:[0-9a-f]{64}$/);
    expect(matchesFilter(key, { teamId: 'team-a' })).toBe(true);
    expect(matchesFilter(key, { endpoint: 'iris' })).toBe(true);
    expect(matchesFilter(key, { teamId: 'team-b' })).toBe(false);
  });
});
