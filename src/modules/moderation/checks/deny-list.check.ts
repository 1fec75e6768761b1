import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import safeRegex from 'safe-regex2';
import { replaceSpans } from 'src/modules/moderation/checks/redaction';
import { CheckVerdict, Detection, ModerationCheck } from 'src/modules/moderation/moderation.types';

export interface DenyListCheckOptions {
  name: string;
  action: 'redact' | 'block' | 'flag';
  keywords: readonly string[];
  patterns: readonly string[];
  profanity: boolean;
}

/** Longest accepted deny pattern; together with the star-height check it keeps matching linear in practice. */
export const MAX_PATTERN_LENGTH = 512;

export class DenyPatternError extends Error {}

/** Compiles a deny pattern or explains why not (syntax, length, nested quantifiers that can backtrack). */
export function compileDenyPattern(source: string): RegExp {
  if (source.length === 0 || source.length > MAX_PATTERN_LENGTH) {
    throw new DenyPatternError(`must be 1–${MAX_PATTERN_LENGTH} characters`);
  }
  let re: RegExp;
  try {
    re = new RegExp(source, 'giu');
  } catch {
    throw new DenyPatternError('is not a valid regular expression');
  }
  if (!safeRegex(re)) {
    throw new DenyPatternError('may backtrack catastrophically (nested quantifiers); simplify it');
  }
  return re;
}

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Everyday words the English dataset would flag (measured on our corpus: "cockpit"). */
const EXTRA_WHITELIST = [
  'cockpit',
  'cockpits',
  'cockatoo',
  'cockroach',
  'cockney',
  'peacock',
  'shuttlecock',
  'weathercock',
  'woodcock',
  'gamecock',
  'hancock',
];

// One matcher for the process: building obscenity's dataset takes milliseconds.
let profanityMatcher: RegExpMatcher | undefined;
function profanity(): RegExpMatcher {
  if (!profanityMatcher) {
    const built = englishDataset.build();
    profanityMatcher = new RegExpMatcher({
      ...built,
      whitelistedTerms: [...(built.whitelistedTerms ?? []), ...EXTRA_WHITELIST],
      ...englishRecommendedTransformers,
    });
  }
  return profanityMatcher;
}

/** Keyword and regex deny lists, plus profanity through the `obscenity` dataset (with its evasion transforms). */
export class DenyListCheck implements ModerationCheck {
  readonly type = 'deny-list';
  readonly incremental = true;
  readonly name: string;
  private readonly keywordPattern: RegExp | undefined;
  private readonly patterns: RegExp[];

  constructor(private readonly options: DenyListCheckOptions) {
    this.name = options.name;
    const keywords = options.keywords.map((k) => k.trim()).filter(Boolean);
    // Whole words, case-insensitive, any run of whitespace between the words of a phrase.
    this.keywordPattern = keywords.length
      ? new RegExp(
          `(?<![\\p{L}\\p{N}])(?:${keywords.map((k) => escapeRegExp(k).replace(/\s+/g, '\\s+')).join('|')})(?![\\p{L}\\p{N}])`,
          'giu',
        )
      : undefined;
    this.patterns = options.patterns.map(compileDenyPattern);
    if (options.profanity) profanity();
  }

  run(text: string): CheckVerdict {
    const detections: Detection[] = [];
    if (this.keywordPattern) detections.push(...spans(this.keywordPattern, text, 'deny_list.keyword'));
    this.patterns.forEach((pattern, index) =>
      detections.push(...spans(pattern, text, 'deny_list.pattern', `denied pattern #${index + 1}`)),
    );
    if (this.options.profanity) {
      for (const m of profanity().getAllMatches(text, true)) {
        detections.push({
          category: 'profanity',
          start: m.startIndex,
          end: m.endIndex + 1,
          score: 1,
          reason: 'profanity',
        });
      }
    }
    if (detections.length === 0) return { check: this.name, action: 'allow', detections };
    if (this.options.action !== 'redact') {
      return { check: this.name, action: this.options.action, detections, score: 1 };
    }
    const sorted = withoutOverlaps(detections);
    const text2 = replaceSpans(text, sorted, () => '[REDACTED]');
    return { check: this.name, action: 'redact', detections, score: 1, text: text2 };
  }
}

function spans(pattern: RegExp, text: string, category: string, what = 'a denied term'): Detection[] {
  const re = new RegExp(pattern.source, pattern.flags);
  const out: Detection[] = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    out.push({ category, start: m.index, end: m.index + m[0].length, score: 1, reason: what });
  }
  return out;
}

function withoutOverlaps(detections: Detection[]): { start: number; end: number }[] {
  const sorted = detections
    .map((d) => ({ start: d.start ?? 0, end: d.end ?? 0 }))
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const out: { start: number; end: number }[] = [];
  for (const span of sorted) {
    const last = out[out.length - 1];
    if (last && span.start < last.end) last.end = Math.max(last.end, span.end);
    else out.push({ ...span });
  }
  return out;
}
