import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every key the gateway mints starts with this, so leaked keys are recognisable (secret scanners). */
export const API_KEY_PREFIX = 'gh_';

export interface MintedKey {
  /** The full key: shown once, never stored. */
  plaintext: string;
  /** What is stored and shown afterwards: enough to recognise the key, useless to call with. */
  prefix: string;
  sha256: string;
}

export function hashApiKey(plaintext: string): string {
  return createHash('sha256').update(plaintext, 'utf8').digest('hex');
}

export function displayPrefix(plaintext: string): string {
  return `${plaintext.slice(0, 11)}…`;
}

/** 256 bits from the CSPRNG, base64url: `gh_` + 43 characters. */
export function mintApiKey(): MintedKey {
  const plaintext = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { plaintext, prefix: displayPrefix(plaintext), sha256: hashApiKey(plaintext) };
}

/**
 * Constant-time comparison of the presented key's digest with a stored digest. The in-memory index is
 * keyed by digest, so the lookup itself never compares secret material byte by byte.
 */
export function digestMatches(presentedSha256: string, storedSha256: string): boolean {
  const a = Buffer.from(presentedSha256, 'hex');
  const b = Buffer.from(storedSha256, 'hex');
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}
