/** Replaces spans of `text` (sorted, non-overlapping) with what `replace` returns for each. */
export function replaceSpans<T extends { start: number; end: number }>(
  text: string,
  spans: readonly T[],
  replace: (span: T, original: string) => string,
): string {
  let out = '';
  let cursor = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    if (span.start < cursor) continue;
    out += text.slice(cursor, span.start) + replace(span, text.slice(span.start, span.end));
    cursor = span.end;
  }
  return out + text.slice(cursor);
}
