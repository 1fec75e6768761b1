import { patternCovers } from 'src/modules/auth/api-keys.service';

describe('patternCovers (a derived key’s endpoint patterns inside its parent’s)', () => {
  it.each([
    ['chat-a', 'chat-a', true],
    ['chat-*', 'chat-a', true],
    ['chat-*', 'chat-*', true],
    ['chat-*', 'chat-a*', true],
    ['*', 'anything*at-all', true],
    ['chat-**', 'chat-x', true],
    ['chat-a', 'chat-*', false],
    ['chat-a', 'chat-b', false],
    ['chat-*', 'other-*', false],
    ['chat-*-prod', 'chat-*', false],
    ['*-prod', 'chat-*-prod', true],
    ['a*b', 'a*', false],
  ])('%s covers %s: %s', (outer, inner, expected) => {
    expect(patternCovers(outer, inner)).toBe(expected);
  });

  it('stays fast on long runs of stars', () => {
    const started = process.hrtime.bigint();
    expect(patternCovers(`${'*a'.repeat(120)}Q`, `${'a'.repeat(255)}`)).toBe(false);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(200);
  });
});
