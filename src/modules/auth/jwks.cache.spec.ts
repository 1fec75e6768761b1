import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, JSONWebKeySet, jwtVerify, SignJWT } from 'jose';
import { JwksCache, JwksUnavailableError } from 'src/modules/auth/jwks.cache';

async function keyPair(kid: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
}

const sign = (key: Awaited<ReturnType<typeof keyPair>>) =>
  new SignJWT({ sub: 's' }).setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid }).sign(key.privateKey);

describe('JwksCache', () => {
  let now: number;
  let fetches: number;
  let failing: boolean;
  let set: JSONWebKeySet;

  const cache = () =>
    new JwksCache({
      url: () => Promise.resolve('https://idp/jwks'),
      fetch: async () => {
        fetches += 1;
        if (failing) throw new Error('connect ECONNREFUSED');
        return set;
      },
      maxAgeMs: 600_000,
      cooldownMs: 30_000,
      timeoutMs: 1000,
      now: () => now,
    });

  beforeEach(() => {
    now = 1_000_000;
    fetches = 0;
    failing = false;
  });

  it('fetches once, then serves from memory', async () => {
    const a = await keyPair('a');
    set = { keys: [a.jwk] };
    const jwks = cache();
    for (let i = 0; i < 5; i++) await jwtVerify(await sign(a), jwks.resolve);
    expect(fetches).toBe(1);
  });

  it('refetches for an unknown kid at most once per cooldown', async () => {
    const a = await keyPair('a');
    const b = await keyPair('b');
    set = { keys: [a.jwk] };
    const jwks = cache();
    await jwtVerify(await sign(a), jwks.resolve);
    for (let i = 0; i < 10; i++) await expect(jwtVerify(await sign(b), jwks.resolve)).rejects.toThrow();
    expect(fetches).toBe(2);
    set = { keys: [a.jwk, b.jwk] };
    now += 29_000;
    await expect(jwtVerify(await sign(b), jwks.resolve)).rejects.toThrow();
    expect(fetches).toBe(2);
    now += 2_000;
    await expect(jwtVerify(await sign(b), jwks.resolve)).resolves.toBeDefined();
    expect(fetches).toBe(3);
  });

  it('keeps stale keys when a background refresh fails; without keys it is unavailable', async () => {
    const a = await keyPair('a');
    set = { keys: [a.jwk] };
    const jwks = cache();
    await jwtVerify(await sign(a), jwks.resolve);
    failing = true;
    now += 700_000;
    await expect(jwtVerify(await sign(a), jwks.resolve)).resolves.toBeDefined();
    expect(fetches).toBe(2);

    const cold = cache();
    await expect(jwtVerify(await sign(a), cold.resolve)).rejects.toBeInstanceOf(JwksUnavailableError);
  });
});
