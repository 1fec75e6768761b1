import { isIPv4, isIPv6 } from 'node:net';
import { countrySpecs, isValidIBAN } from 'ibantools';
import { CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** The PII kinds the detector knows; each has a mask (`[EMAIL]`) and a placeholder prefix (`PII_EMAIL`). */
export const PII_ENTITIES = ['email', 'phone', 'card', 'iban', 'ssn', 'ip', 'credential'] as const;
export type PiiEntity = (typeof PII_ENTITIES)[number];

export interface PiiMatch {
  entity: PiiEntity;
  start: number;
  end: number;
  /** Why it is believed (validated checksum, known key prefix, entropy), never the value. */
  reason: string;
}

export interface PiiDetectOptions {
  entities: ReadonlySet<PiiEntity>;
  /** Region for phone numbers written without a `+` country code. */
  defaultRegion: CountryCode;
  /** Minimum Shannon entropy (bits per character) for an unknown token to count as a secret. */
  entropyThreshold: number;
}

const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}/g;
// 13–19 digits, optionally grouped by single spaces or dashes.
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const SSN = /(?<!\d)(\d{3})([- ])(\d{2})\2(\d{4})(?!\d)/g;
const SSN_BARE = /(?<!\d)\d{9}(?!\d)/g;
const SSN_CONTEXT = /\b(?:ssn|social security(?: number| no\.?)?)\b[^\n\d]{0,20}$/i;
const IPV4 = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)/g;
const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{1,4}|:)(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])/g;

/** Credentials by known prefix; order matters where prefixes overlap (sk-ant- before sk-). */
const CREDENTIAL_PATTERNS: { pattern: RegExp; reason: string }[] = [
  { pattern: /\bsk-ant-[A-Za-z0-9_-]{20,}/g, reason: 'Anthropic API key' },
  { pattern: /\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}/g, reason: 'OpenAI-style secret key' },
  { pattern: /\b(?:sk|rk)_live_[0-9A-Za-z]{20,}/g, reason: 'Stripe live key' },
  { pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, reason: 'AWS access key id' },
  {
    // Secret access keys have no prefix: recognised by what names them.
    pattern:
      /(?<=aws[_ ]?secret(?:[_ ]?access)?(?:[_ ]?key)?["']?\s{0,4}[:=]?\s{0,4}["']?)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/gi,
    reason: 'AWS secret access key',
  },
  { pattern: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/g, reason: 'GitHub token' },
  { pattern: /\bgithub_pat_[A-Za-z0-9_]{22,}/g, reason: 'GitHub fine-grained token' },
  { pattern: /\bglpat-[A-Za-z0-9_-]{20,}/g, reason: 'GitLab token' },
  { pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, reason: 'Slack token' },
  { pattern: /\bAIza[0-9A-Za-z_-]{35}/g, reason: 'Google API key' },
  { pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, reason: 'JSON Web Token' },
  {
    pattern:
      /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----[\s\S]{0,8192}?(?:-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----|$)/g,
    reason: 'private key',
  },
];
const TOKEN = /[A-Za-z0-9+/_=-]{24,128}/g;

export function detectPii(text: string, options: PiiDetectOptions): PiiMatch[] {
  const found: PiiMatch[] = [];
  const want = options.entities;
  // Most specific first: a later detector never claims a span an earlier one took.
  if (want.has('credential')) found.push(...credentials(text, options.entropyThreshold));
  if (want.has('email')) found.push(...emails(text));
  if (want.has('iban')) found.push(...ibans(text));
  if (want.has('card')) found.push(...cards(text));
  if (want.has('ssn')) found.push(...ssns(text));
  if (want.has('ip')) found.push(...ips(text));
  if (want.has('phone')) found.push(...phones(text, options.defaultRegion));
  return dropOverlaps(found);
}

function* matches(pattern: RegExp, text: string): Generator<RegExpExecArray> {
  const re = new RegExp(pattern.source, pattern.flags);
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) re.lastIndex++;
    yield m;
  }
}

function emails(text: string): PiiMatch[] {
  return [...matches(EMAIL, text)].map((m) => ({
    entity: 'email' as const,
    start: m.index,
    end: m.index + m[0].length,
    reason: 'email address',
  }));
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes of the major schemes (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro). */
const CARD_IIN = /^(?:4|5[1-5]|2[2-7]|3[47]|3[068]|6(?:011|5|4[4-9]|2)|35|5[06-9]|6)/;

function cards(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matches(CARD, text)) {
    const digits = m[0].replace(/[ -]/g, '');
    // Mixed separators ("1234-5678 9012") are more likely other numbers.
    if (/ /.test(m[0]) && /-/.test(m[0])) continue;
    if (digits.length < 13 || digits.length > 19 || !CARD_IIN.test(digits) || !luhnValid(digits)) continue;
    if (/^(\d)\1+$/.test(digits)) continue;
    out.push({ entity: 'card', start: m.index, end: m.index + m[0].length, reason: 'payment card number' });
  }
  return out;
}

function ibans(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matches(IBAN, text)) {
    const spec = countrySpecs[m[0].slice(0, 2)] as { chars?: number } | undefined;
    const length = spec?.chars;
    if (!length) continue;
    // The pattern may run into a following upper-case word: keep exactly the country's IBAN length.
    let count = 0;
    let end = 0;
    for (; end < m[0].length && count < length; end++) if (m[0][end] !== ' ') count++;
    const candidate = m[0].slice(0, end).replace(/ /g, '');
    if (count !== length || !isValidIBAN(candidate)) continue;
    out.push({ entity: 'iban', start: m.index, end: m.index + end, reason: 'IBAN (checksum valid)' });
  }
  return out;
}

/** SSA rules: area 000, 666 and 900–999, group 00 and serial 0000 are never issued. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  return a !== 0 && a !== 666 && a < 900 && group !== '00' && serial !== '0000';
}

function ssns(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matches(SSN, text)) {
    if (!ssnValid(m[1], m[3], m[4])) continue;
    out.push({
      entity: 'ssn',
      start: m.index,
      end: m.index + m[0].length,
      reason: 'US social security number',
    });
  }
  // Nine bare digits are an SSN only when the text says so just before.
  for (const m of matches(SSN_BARE, text)) {
    const digits = m[0];
    if (!SSN_CONTEXT.test(text.slice(Math.max(0, m.index - 40), m.index))) continue;
    if (!ssnValid(digits.slice(0, 3), digits.slice(3, 5), digits.slice(5))) continue;
    out.push({ entity: 'ssn', start: m.index, end: m.index + 9, reason: 'US social security number' });
  }
  return out;
}

function ips(text: string): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matches(IPV4, text)) {
    if (!isIPv4(m[0])) continue;
    out.push({ entity: 'ip', start: m.index, end: m.index + m[0].length, reason: 'IPv4 address' });
  }
  for (const m of matches(IPV6, text)) {
    const value = m[0];
    // Needs a hex digit and either the full eight groups or a `::` (times like 12:30:45 are not IPv6).
    if (!/[0-9a-f]/i.test(value) || !isIPv6(value)) continue;
    out.push({ entity: 'ip', start: m.index, end: m.index + value.length, reason: 'IPv6 address' });
  }
  return out;
}

/*
 * Phone-shaped candidates are found with a linear pattern (an optional +country code, an optional
 * (area code), then 7–15 digits in up to six groups) and each is validated by libphonenumber against the
 * full metadata. Scanning whole texts with libphonenumber's own finder is super-linear on digit-dense
 * input (seconds for 200 kB of "1 1 1 …"), which an attacker could send.
 */
const PHONE_CANDIDATE =
  /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?(?:\d{7,15}|\d{1,6}(?:[ .-]\d{1,6}){1,5})(?!\w)/g;

function phones(text: string, defaultRegion: CountryCode): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const m of matches(PHONE_CANDIDATE, text)) {
    const digits = m[0].replace(/\D/g, '').length;
    if (digits < 7 || digits > 15 || m[0].length > 32) continue;
    if (!parsePhoneNumberFromString(m[0], defaultRegion)?.isValid()) continue;
    out.push({ entity: 'phone', start: m.index, end: m.index + m[0].length, reason: 'phone number' });
  }
  return out;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

function credentials(text: string, entropyThreshold: number): PiiMatch[] {
  const out: PiiMatch[] = [];
  for (const { pattern, reason } of CREDENTIAL_PATTERNS) {
    for (const m of matches(pattern, text)) {
      out.push({ entity: 'credential', start: m.index, end: m.index + m[0].length, reason });
    }
  }
  for (const m of matches(TOKEN, text)) {
    const token = m[0];
    const before = m.index === 0 ? '' : text[m.index - 1];
    const after = text[m.index + token.length] ?? '';
    // Part of a longer run (a base64 blob, a URL path) rather than a standalone key.
    if (/[A-Za-z0-9+/_=.-]/.test(before) || /[A-Za-z0-9]/.test(after)) continue;
    if (!looksLikeSecret(token, entropyThreshold)) continue;
    out.push({
      entity: 'credential',
      start: m.index,
      end: m.index + token.length,
      reason: 'high-entropy secret',
    });
  }
  return out;
}

function looksLikeSecret(token: string, threshold: number): boolean {
  // Long base64 runs are payloads (images, documents), and base64 of readable text is text, not a key.
  if (token.length > 64 && /[+/]/.test(token)) return false;
  if (
    /^[A-Za-z0-9+/]+={0,2}$/.test(token) &&
    token.length % 4 === 0 &&
    isPrintable(Buffer.from(token, 'base64'))
  ) {
    return false;
  }
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((re) => re.test(token)).length;
  if (classes < 3) return false;
  const digits = token.replace(/[^0-9]/g, '').length;
  if (digits < 2) return false;
  // Word-like runs (identifiers, slugs) have long letter stretches and low entropy.
  if (/[A-Za-z]{12,}/.test(token) && !/[0-9].*[0-9].*[0-9]/.test(token)) return false;
  return shannonEntropy(token) >= threshold;
}

function dropOverlaps(found: PiiMatch[]): PiiMatch[] {
  const kept: PiiMatch[] = [];
  for (const match of found) {
    if (kept.some((k) => match.start < k.end && k.start < match.end)) continue;
    kept.push(match);
  }
  return kept.sort((a, b) => a.start - b.start);
}

function isPrintable(bytes: Buffer): boolean {
  let printable = 0;
  for (const b of bytes) if (b >= 32 && b < 127) printable++;
  return bytes.length > 0 && printable / bytes.length >= 0.9;
}
