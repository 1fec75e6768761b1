/**
 * RFC 4180 CSV: fields with a comma, quote, CR or LF (or edge spaces) are quoted and quotes doubled;
 * lines end with CRLF. Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first)
 * is prefixed with `'` (OWASP CSV injection) — team and key names are chosen by users. Numbers are
 * written as given.
 */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  let text = value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly (string | number | boolean | null | undefined)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
