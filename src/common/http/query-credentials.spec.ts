import { credentialInQuery } from 'src/common/http/query-credentials';

describe('credentialInQuery', () => {
  it('refuses credentials in the query string', () => {
    for (const url of [
      '/v1/models?key=gh_x',
      '/v1/chat/completions?a=1&api_key=gh_x',
      '/admin/v1/keys?access_token=x',
      '/gateway/openai/v1/chat/completions?KEY=x',
    ]) {
      expect(credentialInQuery(url)).toBe(true);
    }
    expect(credentialInQuery('/v1/models')).toBe(false);
    expect(credentialInQuery('/v1/models?monkey=1')).toBe(false);
  });

  it("lets Gemini's own ?key= through on Gemini's paths, and nothing else", () => {
    expect(credentialInQuery('/v1beta/models/chat:generateContent?key=gh_x')).toBe(false);
    expect(credentialInQuery('/gateway/gemini/v1beta/models/chat:streamGenerateContent?alt=sse&key=x')).toBe(
      false,
    );
    expect(credentialInQuery('/v1beta/models/chat:generateContent?api_key=gh_x')).toBe(true);
    expect(credentialInQuery('/v1beta/models/chat:generateContent?access_token=x')).toBe(true);
    // The path decides, not a query that mentions Gemini's.
    expect(credentialInQuery('/v1/models?next=/v1beta/models/&key=x')).toBe(true);
  });
});
