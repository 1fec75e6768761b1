import { parseCachePolicyYaml } from 'src/modules/cache/cache-policy';
import { normalisedMessages, paramsHash } from 'src/modules/knowledge/semantic-cache.interceptor';

describe('semantic cache keys', () => {
  it('normalises messages: role and text, whitespace collapsed, lower-cased, text parts joined', () => {
    expect(
      normalisedMessages([
        { role: 'system', content: '  Be   brief. ' },
        { role: 'user', content: [{ type: 'text', text: 'Reset\nMY password' }] },
      ]),
    ).toBe('system: be brief.\nuser: reset my password');
  });

  it('hashes every parameter but the messages, stream flags, user, metadata and model; key order is irrelevant', () => {
    const base = {
      model: 'a',
      messages: [{ role: 'user' as const, content: 'x' }],
      temperature: 0.2,
      max_tokens: 9,
    };
    const same = paramsHash({ ...base, model: 'b', stream: true, user: 'u', messages: [] });
    expect(paramsHash(base)).toBe(same);
    expect(paramsHash({ max_tokens: 9, temperature: 0.2, messages: [] })).toBe(same);
    expect(paramsHash({ ...base, temperature: 0.3 })).not.toBe(same);
    expect(paramsHash({ ...base, response_format: { type: 'json_object' } })).not.toBe(same);
  });
});

describe('gatehouse.cache.semantic', () => {
  it('reads the embeddings endpoint and threshold (default 0.95)', () => {
    const problems: string[] = [];
    expect(parseCachePolicyYaml({ semantic: { embedding_endpoint: 'embed' } }, 'e', problems)).toEqual({
      semantic: { embeddingEndpoint: 'embed', threshold: 0.95 },
    });
    expect(
      parseCachePolicyYaml(
        { ttl_seconds: 60, semantic: { embedding_endpoint: 'embed', threshold: 0.8 } },
        'e',
        problems,
      ),
    ).toEqual({ ttlSeconds: 60, semantic: { embeddingEndpoint: 'embed', threshold: 0.8 } });
    expect(problems).toEqual([]);
  });

  it('names each problem', () => {
    const problems: string[] = [];
    expect(parseCachePolicyYaml({ semantic: { threshold: 2, extra: 1 } }, 'e', problems)).toBeUndefined();
    expect(problems).toEqual([
      'e: gatehouse.cache.semantic has unknown key(s): extra.',
      'e: gatehouse.cache.semantic.embedding_endpoint must be the name of an embeddings endpoint.',
      'e: gatehouse.cache.semantic.threshold must be a number above 0 and at most 1.',
    ]);
    expect(parseCachePolicyYaml({ semantic: 'yes' }, 'e', [])).toBeUndefined();
  });
});
