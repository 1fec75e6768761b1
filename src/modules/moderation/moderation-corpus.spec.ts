import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DenyListCheck } from 'src/modules/moderation/checks/deny-list.check';
import { InjectionCheck } from 'src/modules/moderation/checks/injection.check';
import { detectPii, PII_ENTITIES } from 'src/modules/moderation/checks/pii.detectors';

/*
 * Measured precision and recall of the built-in checks on a labelled corpus (PII of each kind, near-misses
 * such as Luhn-failing cards and checksum-failing IBANs, injection attempts, benign look-alikes).
 * Thresholds (docs/guardrails.md, "Measured quality"): every category precision ≥ 0.95 and recall ≥ 0.90
 * at the default settings (injection threshold 0.5, entropy 4.2 bits/char, phone region US). A false positive costs a user a
 * refused or mangled request; a false negative leaks data, so neither may slip.
 */
interface Sample {
  text: string;
  labels: string[];
  note?: string;
}

const corpus = JSON.parse(
  readFileSync(join(__dirname, '../../../test/fixtures/moderation-corpus.json'), 'utf8'),
) as Sample[];

const CATEGORIES = [...PII_ENTITIES.map((e) => `pii.${e}`), 'prompt_injection', 'profanity'];
const MIN_PRECISION = 0.95;
const MIN_RECALL = 0.9;

const injection = new InjectionCheck({ name: 'injection', action: 'block', threshold: 0.5 });
const profanity = new DenyListCheck({
  name: 'p',
  action: 'block',
  keywords: [],
  patterns: [],
  profanity: true,
});

function predict(text: string): Set<string> {
  const found = new Set<string>();
  const pii = detectPii(text, {
    entities: new Set(PII_ENTITIES),
    defaultRegion: 'US',
    entropyThreshold: 4.2,
  });
  for (const m of pii) found.add(`pii.${m.entity}`);
  if (injection.run(text).action === 'block') found.add('prompt_injection');
  if (profanity.run(text).action === 'block') found.add('profanity');
  return found;
}

describe('guardrail corpus: precision and recall per category', () => {
  const stats = new Map(CATEGORIES.map((c) => [c, { tp: 0, fp: 0, fn: 0 }]));
  const mistakes: string[] = [];
  for (const sample of corpus) {
    const predicted = predict(sample.text);
    for (const category of CATEGORIES) {
      const s = stats.get(category)!;
      const expected = sample.labels.includes(category);
      const got = predicted.has(category);
      if (expected && got) s.tp++;
      else if (got) {
        s.fp++;
        mistakes.push(`FP ${category}: ${JSON.stringify(sample.text)}`);
      } else if (expected) {
        s.fn++;
        mistakes.push(`FN ${category}: ${JSON.stringify(sample.text)}`);
      }
    }
  }
  const rows = CATEGORIES.map((category) => {
    const { tp, fp, fn } = stats.get(category)!;
    return {
      category,
      support: tp + fn,
      precision: tp + fp === 0 ? 1 : tp / (tp + fp),
      recall: tp + fn === 0 ? 1 : tp / (tp + fn),
    };
  });

  it('has samples and near-misses for every category', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(80);
    for (const row of rows) expect(row.support).toBeGreaterThanOrEqual(4);
    expect(corpus.filter((s) => s.labels.length === 0).length).toBeGreaterThanOrEqual(30);
  });

  it.each(CATEGORIES)('%s meets the precision and recall thresholds', (category) => {
    const row = rows.find((r) => r.category === category)!;
    expect(row.precision).toBeGreaterThanOrEqual(MIN_PRECISION);
    expect(row.recall).toBeGreaterThanOrEqual(MIN_RECALL);
  });

  afterAll(() => {
    const table = rows
      .map(
        (r) =>
          `${r.category.padEnd(18)} n=${String(r.support).padStart(2)}  P=${r.precision.toFixed(3)}  R=${r.recall.toFixed(3)}`,
      )
      .join('\n');
    process.stdout.write(`\nGuardrail corpus (${corpus.length} samples)\n${table}\n${mistakes.join('\n')}\n`);
  });
});
