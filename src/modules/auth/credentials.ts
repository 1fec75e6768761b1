import type { IncomingHttpHeaders } from 'node:http';
import { isGemini } from 'src/common/errors/error-surface';

export type Credential =
  | { kind: 'none' }
  | { kind: 'malformed' }
  | { kind: 'secret'; value: string; via: 'bearer' | 'x-api-key' | 'x-goog-api-key' | 'key-query' | 'basic' };

const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export function looksLikeJwt(value: string): boolean {
  return JWT_SHAPE.test(value);
}

/**
 * Gemini's `?key=` values on Gemini's paths only (everywhere else a credential in the query string is
 * refused before this runs, see bootstrap.ts).
 */
export function queryKeys(url: string | undefined): string[] {
  if (url === undefined) return [];
  const at = url.indexOf('?');
  if (at === -1 || !isGemini(url.slice(0, at))) return [];
  return new URLSearchParams(url.slice(at + 1)).getAll('key');
}

/**
 * The secret a caller presents: `Authorization: Bearer`, `x-api-key` (Anthropic's SDK), `x-goog-api-key`
 * or, on Gemini's paths, `?key=` (Google's SDKs), or the HTTP Basic password (the MLflow client's
 * MLFLOW_TRACKING_PASSWORD; with MLFLOW_TRACKING_TOKEN it sends Bearer). Other query-string credentials
 * are refused before this runs (bootstrap.ts).
 */
export function extractCredential(headers: IncomingHttpHeaders, url?: string): Credential {
  const authorization = headers.authorization;
  const googKey = headers['x-goog-api-key'];
  const keyed = [
    headers['x-api-key'] === undefined
      ? undefined
      : { value: headers['x-api-key'], via: 'x-api-key' as const },
    googKey === undefined ? undefined : { value: googKey, via: 'x-goog-api-key' as const },
    ...queryKeys(url).map((value) => ({ value, via: 'key-query' as const })),
  ].filter((k) => k !== undefined);
  if (keyed.length > 1) return { kind: 'malformed' };
  const apiKey = keyed[0]?.value;
  const hasAuthorization = typeof authorization === 'string' && authorization.trim() !== '';
  // Two credentials could name two identities: refuse rather than pick one (bad-inputs A18).
  if (hasAuthorization && apiKey !== undefined) return { kind: 'malformed' };
  if (hasAuthorization) {
    const match = /^(\S+)\s+(\S.*)$/.exec(authorization.trim());
    if (!match) return { kind: 'malformed' };
    const scheme = match[1].toLowerCase();
    const value = match[2].trim();
    if (scheme === 'bearer')
      return value.length <= 8192 ? { kind: 'secret', value, via: 'bearer' } : { kind: 'malformed' };
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const password = colon >= 0 ? decoded.slice(colon + 1) : '';
      return password ? { kind: 'secret', value: password, via: 'basic' } : { kind: 'malformed' };
    }
    return { kind: 'malformed' };
  }
  if (typeof apiKey === 'string' && apiKey.trim() !== '') {
    return apiKey.length <= 8192
      ? { kind: 'secret', value: apiKey.trim(), via: keyed[0].via }
      : { kind: 'malformed' };
  }
  return { kind: 'none' };
}
