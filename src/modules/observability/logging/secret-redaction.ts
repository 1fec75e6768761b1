/**
 * The last pass over every log line (and over traced content): credentials are recognised by shape
 * wherever they occur — a header echoed in an exception message, a key quoted back in an upstream error
 * body, a JWT in a URL — and replaced, so a secret that slipped past a field-level rule still never
 * reaches the log. Replacements contain no quote or backslash, so a JSON line stays valid JSON.
 */
const SECRET_SHAPES: RegExp[] = [
  // Gatehouse API keys (api-key.codec: `gh_` + base64url); the 11-character display prefix stays.
  /\bgh_[A-Za-z0-9_-]{16,}/g,
  /\bsk-ant-[A-Za-z0-9_-]{8,}/g,
  /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}/g,
  /\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}/g,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\bgh[pousr]_[A-Za-z0-9]{30,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{22,}/g,
  /\bglpat-[A-Za-z0-9_-]{20,}/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g,
  /\bAIza[0-9A-Za-z_-]{35}/g,
  /\bhf_[A-Za-z0-9]{30,}/g,
  /\bgsk_[A-Za-z0-9]{30,}/g,
  // JWTs (header.payload[.signature]); the header of a JWS always starts with `{"` → `eyJ`.
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*)?/g,
];
// `Bearer <token>` whatever the token looks like; `Basic <base64 user:password>`.
const AUTH_SCHEME = /\b(Bearer(?:\s+|%20)[^\s",;\\]{8,}|Basic(?:\s+|%20)[A-Za-z0-9+/]{12,}={0,2})/gi;
// JSON (or header-dump) fields that are secrets by name, whatever their value looks like.
const SECRET_FIELD =
  /("(?:authorization|proxy-authorization|x-api-key|api-key|api_key|apikey|cookie|set-cookie|password|client_secret|access_token|refresh_token|openai_api_key|anthropic_api_key|x-goog-api-key)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

export const REDACTED = '[REDACTED]';

/** Quick reject: a line with none of these substrings holds none of the shapes above. */
const MAYBE =
  /gh_|sk-|_live_|_test_|AKIA|ASIA|gh[pousr]_|github_pat_|glpat-|xox|AIza|hf_|gsk_|eyJ|bearer|basic|"(?:authorization|proxy-authorization|x-api-key|api-key|api_key|cookie|set-cookie|password|client_secret|access_token|refresh_token|openai_api_key|anthropic_api_key|x-goog-api-key)"/i;

/*
 * Secret values the gateway holds whatever their shape (stored provider secrets, keys gateway.yaml
 * resolves, its own admin and master keys), by the component that knows them. An upstream that echoes
 * one back (an error quoting the key it received) has it replaced like a recognised shape.
 */
const knownByGroup = new Map<string, readonly string[]>();
let known: readonly string[] = [];
/** Shorter values would replace ordinary words. */
const MIN_KNOWN_LENGTH = 8;

/** Replaces the known secret values of one group (e.g. 'stored-secrets', 'gateway-config'). */
export function setKnownSecretValues(group: string, values: Iterable<string>): void {
  knownByGroup.set(
    group,
    [...values].filter((v) => typeof v === 'string' && v.length >= MIN_KNOWN_LENGTH),
  );
  // Longest first, so a value containing another is replaced whole.
  known = [...new Set([...knownByGroup.values()].flat())].sort((a, b) => b.length - a.length);
}

export function redactSecrets(text: string): string {
  let out = text;
  for (const value of known) if (out.includes(value)) out = out.split(value).join(REDACTED);
  if (!MAYBE.test(out)) return out;
  out = out
    .replace(SECRET_FIELD, `$1"${REDACTED}"`)
    .replace(AUTH_SCHEME, (match) => `${match.slice(0, match.search(/\s|%20/))} ${REDACTED}`);
  for (const shape of SECRET_SHAPES) out = out.replace(shape, REDACTED);
  return out;
}
