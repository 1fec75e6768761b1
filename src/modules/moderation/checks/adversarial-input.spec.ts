import { DenyListCheck } from 'src/modules/moderation/checks/deny-list.check';
import { InjectionCheck } from 'src/modules/moderation/checks/injection.check';
import { detectPii, PII_ENTITIES } from 'src/modules/moderation/checks/pii.detectors';

/*
 * Guardrails read untrusted text on the hot path, so super-linear matching is a denial of service, not a
 * speed detail. Each input below once took (or could take) seconds in some detector. The bound is relative
 * to ordinary prose of the same length, measured in the same run: a loaded machine slows both alike (an
 * absolute 3 s bound failed once at 3.7 s under CI load), while a quadratic regression on 100,000
 * characters is thousands of times slower than the prose and still fails.
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
/** How many times the prose's time an adversarial input may take (each measured 0.5–1.5× of it). */
const RELATIVE_BOUND = 40;
const PROSE = 'The quarterly report is attached; please review the figures before Friday. '
  .repeat(N / 70)
  .slice(0, N);

const injection = new InjectionCheck({ name: 'i', action: 'block', threshold: 0.5 });
const deny = new DenyListCheck({
  name: 'd',
  action: 'block',
  keywords: ['project nightingale'],
  patterns: ['internal-\\d+'],
  profanity: true,
});

function timeChecks(text: string): number {
  const started = performance.now();
  detectPii(text, { entities: new Set(PII_ENTITIES), defaultRegion: 'US', entropyThreshold: 4.2 });
  injection.run(text);
  deny.run(text);
  return performance.now() - started;
}

describe('checks on adversarial input', () => {
  let boundMs = 0;

  beforeAll(() => {
    // The faster of two runs (the first also warms the regular expressions up); never under 250 ms.
    const prose = Math.min(timeChecks(PROSE), timeChecks(PROSE));
    boundMs = Math.max(250, RELATIVE_BOUND * prose);
  });

  it.each(Object.keys(ADVERSARIAL))('stay linear on %s', (name) => {
    expect(timeChecks(ADVERSARIAL[name])).toBeLessThan(boundMs);
  });
});
