import {
  REDACTED,
  redactSecrets,
  setKnownSecretValues,
} from 'src/modules/observability/logging/secret-redaction';

describe('redactSecrets', () => {
  const gatehouseKey = 'gh_Zk3Qd0yKq9cR2mB7vX1pL8sT4wN6hJ5gF0aE3uY9iO2';
  const openai = 'sk-proj-AbCdEf0123456789GhIjKlMnOpQrStUv';
  const anthropic = 'sk-ant-api03-AbCdEf0123456789GhIjKlMn-OpQrStUvWx';
  const jwt =
    'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJzdmMtYmlsbGluZyIsImF1ZCI6ImdhdGVob3VzZSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';

  it.each([
    ['a Gatehouse API key', gatehouseKey],
    ['an OpenAI key', openai],
    ['an Anthropic key', anthropic],
    ['a JWT', jwt],
    ['an AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
    ['a GitHub token', 'ghp_0123456789abcdefghijABCDEFGHIJ012345'],
    ['a Google API key', 'AIzaSyA1234567890abcdefghijklmnopqrstuv'],
  ])('removes %s wherever it stands', (_name, secret) => {
    const line = `{"msg":"upstream said: Incorrect API key provided: ${secret}. Check it.","path":"/v1/x/${secret}"}`;
    const out = redactSecrets(line);
    expect(out).not.toContain(secret);
    expect(out.split(REDACTED)).toHaveLength(3);
    expect(() => JSON.parse(out) as unknown).not.toThrow();
  });

  it('removes the credential after an auth scheme, and secret-named fields whatever their value', () => {
    const line = JSON.stringify({
      msg: 'request failed',
      headers: {
        authorization: 'Bearer opaque.token-value_42',
        'x-api-key': 'short',
        cookie: 'session=abc; other=def',
        'content-type': 'application/json',
      },
      detail: 'sent Basic dXNlcjpwYXNzd29yZDEyMw== upstream',
    });
    const out = JSON.parse(redactSecrets(line)) as {
      headers: Record<string, string>;
      detail: string;
    };
    expect(out.headers).toEqual({
      authorization: REDACTED,
      'x-api-key': REDACTED,
      cookie: REDACTED,
      'content-type': 'application/json',
    });
    expect(out.detail).toBe(`sent Basic ${REDACTED} upstream`);
  });

  it('leaves ordinary lines alone, including key display prefixes and token counts', () => {
    const line =
      '{"msg":"POST /v1/chat/completions 200","tokensIn":12,"apiKeyPrefix":"gh_Zk3Qd0yK…","model":"gpt-4o-mini","task-id":"sk-1"}';
    expect(redactSecrets(line)).toBe(line);
  });
});

describe('known secret values', () => {
  it('are replaced whatever their shape, longest first', () => {
    setKnownSecretValues('spec', ['plain-value-123456', 'plain-value-123456-longer', 'short']);
    expect(redactSecrets('got plain-value-123456-longer and plain-value-123456; short stays')).toBe(
      'got [REDACTED] and [REDACTED]; short stays',
    );
    setKnownSecretValues('spec', []);
    expect(redactSecrets('plain-value-123456')).toBe('plain-value-123456');
  });
});
