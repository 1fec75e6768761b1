import { createHash } from 'node:crypto';
import { digestMatches, displayPrefix, hashApiKey, mintApiKey } from 'src/modules/auth/api-key.codec';

describe('API key codec', () => {
  it('mints 256-bit keys with a recognisable prefix and stores only their SHA-256', () => {
    const a = mintApiKey();
    const b = mintApiKey();
    expect(a.plaintext).toMatch(/^gh_[A-Za-z0-9_-]{43}$/);
    expect(a.plaintext).not.toBe(b.plaintext);
    expect(a.sha256).toBe(createHash('sha256').update(a.plaintext).digest('hex'));
    expect(a.prefix).toBe(`${a.plaintext.slice(0, 11)}…`);
    expect(a.prefix).not.toContain(a.plaintext.slice(11));
  });

  it('compares digests, rejecting anything but an exact 32-byte match', () => {
    const key = mintApiKey();
    expect(digestMatches(hashApiKey(key.plaintext), key.sha256)).toBe(true);
    expect(digestMatches(hashApiKey(`${key.plaintext}x`), key.sha256)).toBe(false);
    expect(digestMatches('', key.sha256)).toBe(false);
    expect(digestMatches('abcd', 'abcd')).toBe(false);
    expect(displayPrefix('gh_abcdefghijkl')).toBe('gh_abcdefgh…');
  });
});
