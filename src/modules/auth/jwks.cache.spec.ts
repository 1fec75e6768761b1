import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, JSONWebKeySet, jwtVerify, SignJWT } from 'jose';
import { backoffMs, JwksCache, JwksUnavailableError } from 'src/modules/auth/jwks.cache';

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

  it('backs off exponentially while the IdP is down: 100 forged tokens cause one fetch, not 100', async () => {
    const a = await keyPair('a');
    set = { keys: [a.jwk] };
    failing = true;
    const jwks = cache();
    for (let i = 0; i < 100; i++) {
      await expect(jwtVerify(await sign(a), jwks.resolve)).rejects.toBeInstanceOf(JwksUnavailableError);
    }
    expect(fetches).toBe(1);
    // 1 s, then 2 s, 4 s … between attempts.
    const attemptsAt: number[] = [];
    for (let t = 0; t <= 16_000; t += 100) {
      now = 1_000_000 + t;
      const before = fetches;
      await expect(jwtVerify(await sign(a), jwks.resolve)).rejects.toBeInstanceOf(JwksUnavailableError);
      if (fetches > before) attemptsAt.push(t);
    }
    expect(attemptsAt).toEqual([1_000, 3_000, 7_000, 15_000]);
    // Recovery resets the back-off: keys verify at once.
    failing = false;
    now = 1_000_000 + 31_000;
    await expect(jwtVerify(await sign(a), jwks.resolve)).resolves.toBeDefined();
    expect(backoffMs(1)).toBe(1_000);
    expect(backoffMs(30)).toBe(60_000);
  });
});
