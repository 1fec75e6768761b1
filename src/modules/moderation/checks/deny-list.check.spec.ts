import {
  CHECK_BUDGET_MS,
  compileDenyPattern,
  DenyListCheck,
  DenyPatternError,
  MAX_SCAN_CHARS,
} from 'src/modules/moderation/checks/deny-list.check';

const deny = (patterns: string[], action: 'block' | 'flag' | 'redact' = 'block') =>
  new DenyListCheck({ name: 'd', action, keywords: [], patterns, profanity: false });

/*
 * Wall-time bounds: a linear scan of these inputs takes tens of milliseconds on an idle machine and up to
 * a few hundred on a loaded one; V8's backtracking engine took about 4 s on the 40,000-character input and
 * over 30 s on the 1,000-character one. The bound separates the two with margin on either side.
 */
const LINEAR_BOUND_MS = 2_000;

/** Runs the check and reports its verdict with the wall time it took. */
function timed(check: DenyListCheck, text: string) {
  const started = performance.now();
  const verdict = check.run(text);
  return { verdict, ms: performance.now() - started };
}

describe('deny-list patterns on a linear-time engine', () => {
  it('decides 200,000 characters against both pathological patterns within the budget', () => {
    const check = deny(['[\\w.]+@[\\w.]+\\.com', 'a*a*a*a*a*a*a*a*a*a*a*a*b']);
    check.run('warm up');
    const { verdict, ms } = timed(check, 'a'.repeat(MAX_SCAN_CHARS));
    expect(verdict.action).toBe('allow');
    expect(ms).toBeLessThan(LINEAR_BOUND_MS);
  });

  it('scans 40,000 characters with [\\w.]+@[\\w.]+\\.com in well under the event-loop bound', () => {
    // V8's backtracking engine spent about 4 s of event loop on this input.
    const check = deny(['[\\w.]+@[\\w.]+\\.com']);
    const { verdict, ms } = timed(check, 'a'.repeat(40_000));
    expect(verdict.action).toBe('allow');
    expect(ms).toBeLessThan(LINEAR_BOUND_MS);
    const hit = check.run(`${'a.'.repeat(5_000)} mail jane.doe@example.com now`);
    expect(hit.action).toBe('block');
    expect(hit.detections).toHaveLength(1);
  });

  it('scans 1,000 characters with a*a*a*a*a*a*a*a*a*a*a*a*b at once (over 30 s before)', () => {
    const check = deny(['a*a*a*a*a*a*a*a*a*a*a*a*b']);
    const { verdict, ms } = timed(check, 'a'.repeat(1_000));
    expect(verdict.action).toBe('allow');
    expect(ms).toBeLessThan(LINEAR_BOUND_MS);
    expect(check.run(`${'a'.repeat(999)}b`).detections).toEqual([
      { category: 'deny_list.pattern', score: 1, reason: 'denied pattern #1' },
    ]);
    // A redacting list locates the match.
    expect(deny(['a*a*a*a*a*a*a*a*a*a*a*a*b'], 'redact').run(`xx${'a'.repeat(998)}b`).detections).toEqual([
      { category: 'deny_list.pattern', start: 2, end: 1_001, score: 1, reason: 'denied pattern #1' },
    ]);
  });

  it('reports UTF-16 offsets, case-insensitively, and redacts every match', () => {
    const verdict = deny(['internal-\\d+'], 'redact').run('😀 INTERNAL-42 and internal-7');
    expect(verdict.detections.map((d) => [d.start, d.end])).toEqual([
      [3, 14],
      [19, 29],
    ]);
    expect(verdict.text).toBe('😀 [REDACTED] and [REDACTED]');
  });

  it('never cuts a text with a few matches short, however slow the clock says the scan was', () => {
    // A busy machine or a pattern's slow first use must not turn a clean redaction into a block.
    let now = 0;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => (now += 500));
    try {
      const verdict = deny(['internal-\\d+'], 'redact').run('INTERNAL-42 and internal-7');
      expect(verdict.action).toBe('redact');
      expect(verdict.text).toBe('[REDACTED] and [REDACTED]');
    } finally {
      clock.mockRestore();
    }
  });

  it('accepts nested quantifiers (linear on RE2) and refuses what RE2 cannot run, saying why', () => {
    expect(() => compileDenyPattern('(a+)+$')).not.toThrow();
    expect(() => compileDenyPattern('(?<word>x)\\u00e9')).not.toThrow();
    for (const source of ['(a)\\1', 'x(?=y)', '(?<!a)b', '(', 'a{1001}']) {
      expect(() => compileDenyPattern(source)).toThrow(DenyPatternError);
    }
    expect(() => compileDenyPattern('(a)\\1')).toThrow(/not a valid RE2 regular expression.*backreferences/);
    expect(() => compileDenyPattern('((((a{1,1000}){1,1000}){1,1000}){1,1000})')).toThrow(DenyPatternError);
    expect(() => compileDenyPattern('x'.repeat(513))).toThrow(/1–512 characters/);
  });

  it('stops at the time budget when finding every match rescans, and fails closed', () => {
    // Each match of `a.*b|a` looks to the end of the text for a `b`: quadratic over many matches.
    const check = deny(['a.*b|a'], 'redact');
    const { verdict, ms } = timed(check, 'a'.repeat(150_000));
    expect(verdict.action).toBe('block');
    expect(verdict.error).toContain(`${CHECK_BUDGET_MS} ms budget`);
    expect(ms).toBeLessThan(LINEAR_BOUND_MS);
    expect(deny(['a.*b|a'], 'flag').run('a'.repeat(150_000)).action).toBe('flag');
  });

  it('refuses a text longer than the scan budget instead of passing it unscanned', () => {
    const verdict = deny(['secret'], 'redact').run(`${' '.repeat(MAX_SCAN_CHARS)}secret`);
    expect(verdict.action).toBe('block');
    expect(verdict.detections[0].category).toBe('deny_list.budget');
    expect(deny(['secret']).run(`${' '.repeat(MAX_SCAN_CHARS - 10)}secret`).action).toBe('block');
    expect(deny(['secret']).run(' '.repeat(MAX_SCAN_CHARS - 10)).action).toBe('allow');
  });
});
