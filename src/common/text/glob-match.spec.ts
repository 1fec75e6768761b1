import { globMatch } from 'src/common/text/glob-match';

/** Textbook dynamic-programming glob matcher: the reference the linear matcher must agree with. */
function reference(pattern: string, name: string): boolean {
  let row = new Array<boolean>(name.length + 1).fill(false);
  row[0] = true;
  for (const c of pattern) {
    const next = new Array<boolean>(name.length + 1).fill(false);
    if (c === '*') {
      next[0] = row[0];
      for (let j = 1; j <= name.length; j++) next[j] = row[j] || next[j - 1];
    } else {
      for (let j = 1; j <= name.length; j++) next[j] = row[j - 1] && name[j - 1] === c;
    }
    row = next;
  }
  return row[name.length];
}

/** Deterministic pseudo-random strings over a tiny alphabet, so that near-misses are common. */
function generator(seed: number) {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return (alphabet: string, max: number) =>
    Array.from(
      { length: Math.floor(next() * (max + 1)) },
      () => alphabet[Math.floor(next() * alphabet.length)],
    ).join('');
}

describe('globMatch', () => {
  it('treats * as any run and everything else literally', () => {
    expect(globMatch('chat-*', 'chat-prod')).toBe(true);
    expect(globMatch('chat-*', 'xchat-prod')).toBe(false);
    expect(globMatch('a.b', 'a.b')).toBe(true);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('*-*-prod', 'team-a-prod')).toBe(true);
    expect(globMatch('a*a', 'a')).toBe(false);
    expect(globMatch('ab*ba', 'aba')).toBe(false);
    expect(globMatch('**a**', 'xxaxx')).toBe(true);
  });

  it('agrees with a dynamic-programming reference on 20,000 random pattern/name pairs', () => {
    const random = generator(17);
    let matches = 0;
    for (let i = 0; i < 20_000; i++) {
      const pattern = random('ab*', 8);
      const name = random('ab', 10);
      const expected = reference(pattern, name);
      if (expected) matches++;
      expect([pattern, name, globMatch(pattern, name)]).toEqual([pattern, name, expected]);
    }
    // Both outcomes are well represented, so the agreement means something.
    expect(matches).toBeGreaterThan(2_000);
    expect(matches).toBeLessThan(18_000);
  });

  it('decides a key scoped to 50 or 60 stars then Q without backtracking', () => {
    // The bound leaves room for a busy machine; the backtracking regex was four orders of magnitude slower.
    // With `*` → `.*` in a backtracking regex this took 6.9 s (50 stars) and ~50 s (60 stars) per check.
    const names = ['chat', 'a-fairly-long-endpoint-name-for-the-test', 'x'.repeat(128)];
    const started = performance.now();
    for (const stars of [50, 60]) {
      const pattern = `${'*'.repeat(stars)}Q`;
      for (const name of names) expect(globMatch(pattern, name)).toBe(false);
      expect(globMatch(pattern, 'endpointQ')).toBe(true);
    }
    expect(performance.now() - started).toBeLessThan(500);
  });
});
