import { randomBytes } from 'node:crypto';
import { SecretCipher, SecretCipherError } from 'src/modules/secrets/secret.cipher';

const key = () => randomBytes(32).toString('base64');

describe('SecretCipher (AES-256-GCM, versioned master keys)', () => {
  it('round-trips and never leaves the plaintext in the sealed form', () => {
    const cipher = SecretCipher.fromConfig(key(), 1, undefined);
    const sealed = cipher.seal('openai', 'sk-live-very-secret');
    expect(sealed.keyVersion).toBe(1);
    expect(sealed.iv).toHaveLength(12);
    expect(sealed.tag).toHaveLength(16);
    expect(sealed.ciphertext.toString('utf8')).not.toContain('very-secret');
    expect(cipher.open('openai', sealed)).toBe('sk-live-very-secret');
    // Fresh IV each time.
    expect(cipher.seal('openai', 'sk-live-very-secret').ciphertext.equals(sealed.ciphertext)).toBe(false);
  });

  it('detects tampering and a ciphertext moved to another name', () => {
    const cipher = SecretCipher.fromConfig(key(), 1, undefined);
    const sealed = cipher.seal('a', 'value');
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[0] ^= 1;
    expect(() => cipher.open('a', { ...sealed, ciphertext: flipped })).toThrow(SecretCipherError);
    expect(() => cipher.open('b', sealed)).toThrow("secret 'b' failed authentication");
  });

  it('reads secrets sealed under a previous key version after rotation', () => {
    const v1 = key();
    const old = SecretCipher.fromConfig(v1, 1, undefined).seal('s', 'v');
    const rotated = SecretCipher.fromConfig(key(), 2, `1:${v1}`);
    expect(rotated.open('s', old)).toBe('v');
    expect(rotated.seal('s', 'v').keyVersion).toBe(2);
    const withoutOld = SecretCipher.fromConfig(key(), 2, undefined);
    expect(() => withoutOld.open('s', old)).toThrow('master key version 1 is not configured');
  });
});
