import { DenyListCheck } from 'src/modules/moderation/checks/deny-list.check';
import { InjectionCheck } from 'src/modules/moderation/checks/injection.check';
import { detectPii, PII_ENTITIES } from 'src/modules/moderation/checks/pii.detectors';

/*
 * Guardrails read untrusted text on the hot path, so super-linear matching is a denial of service, not a
 * speed detail. Each input below once took (or could take) seconds in some detector; the bound is ~20× the
 * measured time so a loaded CI machine does not flake, while a quadratic regression (seconds) still fails.
 */
const N = 100_000;
const ADVERSARIAL: Record<string, string> = {
  newlines: '\n'.repeat(N),
  letters: 'a'.repeat(N),
  digits: '1'.repeat(N),
  'spaced digits': '1 '.repeat(N / 2),
  'dashed digits': '1-'.repeat(N / 2),
  'dotted digits': '1.'.repeat(N / 2),
  'colon digits': '1:'.repeat(N / 2),
  'at signs': 'a@'.repeat(N / 2),
  'dotted letters': 'a.'.repeat(N / 2),
  'repeated override word': 'ignore '.repeat(N / 7),
  'override word then spaces': `ignore${' '.repeat(N)}`,
  'role lines': 'system \n'.repeat(N / 8),
  base64: 'QUJD'.repeat(N / 4),
  'key prefixes': 'sk-'.repeat(N / 3),
  'iban prefixes': 'DE89 '.repeat(N / 5),
};
const BOUND_MS = 3_000;

const injection = new InjectionCheck({ name: 'i', action: 'block', threshold: 0.5 });
const deny = new DenyListCheck({
  name: 'd',
  action: 'block',
  keywords: ['project nightingale'],
  patterns: ['internal-\\d+'],
  profanity: true,
});

describe('checks on adversarial input', () => {
  it.each(Object.keys(ADVERSARIAL))('stay linear on %s', (name) => {
    const text = ADVERSARIAL[name];
    const started = performance.now();
    detectPii(text, { entities: new Set(PII_ENTITIES), defaultRegion: 'US', entropyThreshold: 4.2 });
    injection.run(text);
    deny.run(text);
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
  });
});
