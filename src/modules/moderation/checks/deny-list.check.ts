import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import { RE2JS, RE2JSException } from 're2js';
import { replaceSpans } from 'src/modules/moderation/checks/redaction';
import { CheckVerdict, Detection, ModerationCheck } from 'src/modules/moderation/moderation.types';

export interface DenyListCheckOptions {
  name: string;
  action: 'redact' | 'block' | 'flag';
  keywords: readonly string[];
  patterns: readonly string[];
  profanity: boolean;
}

/** Longest accepted deny pattern. */
export const MAX_PATTERN_LENGTH = 512;
/** Largest compiled program accepted (RE2's rough cost measure; `a{1000}` is about 1,000). */
export const MAX_PATTERN_PROGRAM = 10_000;
/**
 * Per-check budget for the regex patterns: the characters of one text they scan, and the wall time of
 * one run over all patterns. RE2 matches in time linear in the text, but finding every match can still
 * rescan (`a.*b|a` on a run of `a`s), so the loop stops once the time is spent. A text the patterns
 * cannot fully scan is refused, never passed unscanned (padding must not smuggle a denied term past).
 */
export const MAX_SCAN_CHARS = 200_000;
export const CHECK_BUDGET_MS = 100;
/** Matches located between two reads of the clock. */
const TIME_CHECK_EVERY = 64;

export class DenyPatternError extends Error {}

/**
 * Compiles a deny pattern for RE2 (linear-time: no backreferences or lookaround) or explains why not.
 * JavaScript spellings RE2 lacks (`\u00e9`, `(?<name>…)`) are translated first.
 */
export function compileDenyPattern(source: string): RE2JS {
  if (source.length === 0 || source.length > MAX_PATTERN_LENGTH) {
    throw new DenyPatternError(`must be 1–${MAX_PATTERN_LENGTH} characters`);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(RE2JS.translateRegExp(source), RE2JS.CASE_INSENSITIVE);
  } catch (error) {
    const detail = error instanceof RE2JSException ? `: ${error.message.slice(0, 200)}` : '';
    throw new DenyPatternError(
      `is not a valid RE2 regular expression (linear-time syntax: no backreferences or lookaround)${detail}`,
    );
  }
  if (re.programSize() > MAX_PATTERN_PROGRAM) {
    throw new DenyPatternError(`is too large once compiled (over ${MAX_PATTERN_PROGRAM} instructions)`);
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
  private readonly patterns: RE2JS[];

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
    if (this.patterns.length > 0) {
      const scanned = this.scanPatterns(text, detections);
      if (scanned !== true) {
        // Fail closed: a redaction cannot cover what was not scanned, so only a flag-only list stays a flag.
        const action = this.options.action === 'flag' ? 'flag' : 'block';
        return {
          check: this.name,
          action,
          detections: [{ category: 'deny_list.budget', score: 1, reason: scanned }],
          score: 1,
          error: scanned,
        };
      }
    }
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
  /** Every match of the regex patterns into `detections`; a reason instead when the budget ran out. */
  private scanPatterns(text: string, detections: Detection[]): true | string {
    if (text.length > MAX_SCAN_CHARS) {
      return `text longer than the ${MAX_SCAN_CHARS} characters deny-list patterns scan`;
    }
    const deadline = performance.now() + CHECK_BUDGET_MS;
    for (let index = 0; index < this.patterns.length; index++) {
      const pattern = this.patterns[index];
      // RE2's DFA answers "is there a match" in one cheap pass; spans need its slower NFA, and only a
      // redaction needs them: blocking and flagging stop at the yes.
      if (!pattern.test(text)) continue;
      if (this.options.action !== 'redact') {
        detections.push({ category: 'deny_list.pattern', score: 1, reason: `denied pattern #${index + 1}` });
        continue;
      }
      const matcher = pattern.matcher(text);
      let from = 0;
      let found = 0;
      while (from <= text.length && matcher.find(from)) {
        const start = matcher.start();
        const end = matcher.end();
        if (end > start) {
          detections.push({
            category: 'deny_list.pattern',
            start,
            end,
            score: 1,
            reason: `denied pattern #${index + 1}`,
          });
        }
        from = end > start ? end : end + 1;
        // The clock is read once the work is real (many matches, each a rescan): a text with a few
        // matches is never cut short by a slow first use of the pattern or a busy machine.
        if (++found % TIME_CHECK_EVERY === 0 && performance.now() > deadline)
          return `deny-list patterns exceeded their ${CHECK_BUDGET_MS} ms budget`;
      }
    }
    return true;
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
