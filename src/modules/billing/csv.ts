/**
 * A cell a spreadsheet could run as a formula (OWASP CSV injection): one that starts with `=`, `+`, `-`,
 * `@`, tab or CR, also after leading spaces (spreadsheets trim them), or that holds a separator a
 * spreadsheet may split on (`,` `;` `|` tab) followed by such a character (`a;=cmd` becomes a second
 * cell `=cmd` where `;` is the list separator).
 */
const FORMULA_START = /^[\s]*[=+\-@\t\r]/;
// Only spaces between separator and trigger: `\s*` there would rescan runs of tabs (quadratic).
const FORMULA_AFTER_SEPARATOR = /[,;|\t] *[=+\-@]/;

/**
 * RFC 4180 CSV: fields with a comma, quote, CR or LF (or edge spaces) are quoted and quotes doubled;
 * lines end with CRLF. A text cell that could run as a formula is prefixed with `'` and quoted — team and
 * key names are chosen by users. Numbers are written as given.
 */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (FORMULA_START.test(value) || FORMULA_AFTER_SEPARATOR.test(value)) {
    return `"'${value.replaceAll('"', '""')}"`;
  }
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(values: readonly (string | number | boolean | null | undefined)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
