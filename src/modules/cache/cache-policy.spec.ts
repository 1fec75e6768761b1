import { isCacheableRequest, parseCachePolicyYaml, resolvePolicy } from 'src/modules/cache/cache-policy';

describe('parseCachePolicyYaml', () => {
  it('reads every setting', () => {
    const problems: string[] = [];
    expect(
      parseCachePolicyYaml(
        { enabled: true, ttl_seconds: 60, scope: 'global', requests: 'all' },
        'e',
        problems,
      ),
    ).toEqual({ enabled: true, ttlSeconds: 60, scope: 'global', requests: 'all' });
    expect(problems).toEqual([]);
  });

  it('reports every bad value and unknown key', () => {
    const problems: string[] = [];
    const policy = parseCachePolicyYaml(
      { enabled: 'yes', ttl_seconds: 0, scope: 'tenant', requests: 'some', tll: 5 },
      'endpoints[0] (chat)',
      problems,
    );
    expect(policy).toBeUndefined();
    expect(problems).toHaveLength(5);
    expect(problems[0]).toContain('endpoints[0] (chat): gatehouse.cache.tll is not a cache setting');
    expect(parseCachePolicyYaml('on', 'x', problems)).toBeUndefined();
    expect(problems[5]).toBe('x: gatehouse.cache must be a mapping.');
  });
});

describe('resolvePolicy', () => {
  it('is off without any block, on with an empty one, and later layers win', () => {
    expect(resolvePolicy(300).enabled).toBe(false);
    expect(resolvePolicy(300, {})).toEqual({
      enabled: true,
      ttlSeconds: 300,
      scope: 'team',
      requests: 'deterministic',
    });
    expect(resolvePolicy(300, { ttlSeconds: 10, scope: 'key' }, { enabled: false })).toEqual({
      enabled: false,
      ttlSeconds: 10,
      scope: 'key',
      requests: 'deterministic',
    });
  });
});

describe('isCacheableRequest', () => {
  const on = resolvePolicy(60, {});
  it('caches embeddings and temperature-0 LLM calls by default', () => {
    expect(isCacheableRequest(on, 'embeddings', { input: 'x' }, false)).toBe(true);
    expect(isCacheableRequest(on, 'chat', { messages: [], temperature: 0 }, false)).toBe(true);
    expect(isCacheableRequest(on, 'chat', { messages: [] }, false)).toBe(false);
    expect(isCacheableRequest(on, 'completions', { prompt: 'x', temperature: 0.2 }, false)).toBe(false);
  });

  it('caches sampled calls on opt-in or with requests: all, never when disabled', () => {
    expect(isCacheableRequest(on, 'chat', { messages: [], temperature: 1 }, true)).toBe(true);
    expect(isCacheableRequest({ ...on, requests: 'all' }, 'chat', { messages: [] }, false)).toBe(true);
    expect(isCacheableRequest({ ...on, enabled: false }, 'embeddings', { input: 'x' }, true)).toBe(false);
  });
});
