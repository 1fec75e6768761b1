import { extractCredential, looksLikeJwt, queryKeys } from 'src/modules/auth/credentials';

describe('extractCredential', () => {
  it('reads Bearer, x-api-key and the Basic password', () => {
    expect(extractCredential({ authorization: 'Bearer gh_abc' })).toEqual({
      kind: 'secret',
      value: 'gh_abc',
      via: 'bearer',
    });
    expect(extractCredential({ 'x-api-key': 'gh_def' })).toEqual({
      kind: 'secret',
      value: 'gh_def',
      via: 'x-api-key',
    });
    const basic = Buffer.from('mlflow:gh_ghi').toString('base64');
    expect(extractCredential({ authorization: `Basic ${basic}` })).toEqual({
      kind: 'secret',
      value: 'gh_ghi',
      via: 'basic',
    });
  });

  it('keeps colons inside a Basic password', () => {
    const basic = Buffer.from('u:a:b').toString('base64');
    expect(extractCredential({ authorization: `Basic ${basic}` })).toMatchObject({ value: 'a:b' });
  });

  it('refuses two credentials at once', () => {
    expect(extractCredential({ authorization: 'Bearer a', 'x-api-key': 'b' })).toEqual({ kind: 'malformed' });
    expect(extractCredential({ authorization: 'Bearer a', 'x-api-key': 'a' })).toEqual({ kind: 'malformed' });
  });

  it('flags absent and malformed credentials', () => {
    expect(extractCredential({})).toEqual({ kind: 'none' });
    expect(extractCredential({ authorization: 'Bearer' })).toEqual({ kind: 'malformed' });
    expect(extractCredential({ authorization: 'Digest x' })).toEqual({ kind: 'malformed' });
    expect(
      extractCredential({ authorization: `Basic ${Buffer.from('user-only').toString('base64')}` }),
    ).toEqual({
      kind: 'malformed',
    });
    expect(extractCredential({ authorization: `Bearer ${'a'.repeat(9000)}` })).toEqual({ kind: 'malformed' });
  });

  it('tells JWTs from API keys by shape', () => {
    expect(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).toBe(true);
    expect(looksLikeJwt('gh_abcdef')).toBe(false);
    expect(looksLikeJwt('eyJ.a')).toBe(false);
  });

  it("reads x-goog-api-key anywhere and Gemini's ?key= on Gemini's paths only", () => {
    expect(extractCredential({ 'x-goog-api-key': 'gh_goog' })).toEqual({
      kind: 'secret',
      value: 'gh_goog',
      via: 'x-goog-api-key',
    });
    expect(extractCredential({}, '/v1beta/models/chat:generateContent?alt=sse&key=gh_q')).toEqual({
      kind: 'secret',
      value: 'gh_q',
      via: 'key-query',
    });
    expect(extractCredential({}, '/gateway/gemini/v1beta/models/chat:generateContent?key=gh_q')).toEqual({
      kind: 'secret',
      value: 'gh_q',
      via: 'key-query',
    });
    // Elsewhere the query is not a credential (the request hook refuses it before this runs).
    expect(extractCredential({}, '/v1/chat/completions?key=gh_q')).toEqual({ kind: 'none' });
    expect(queryKeys('/v1/models?key=gh_q')).toEqual([]);
    // Two credentials, whichever way they come, are refused.
    for (const [headers, url] of [
      [{ 'x-goog-api-key': 'a', 'x-api-key': 'a' }, undefined],
      [{ 'x-goog-api-key': 'a' }, '/v1beta/models/m:generateContent?key=a'],
      [{ authorization: 'Bearer a' }, '/v1beta/models/m:generateContent?key=a'],
      [{}, '/v1beta/models/m:generateContent?key=a&key=b'],
    ] as const) {
      expect(extractCredential(headers, url)).toEqual({ kind: 'malformed' });
    }
  });
});
