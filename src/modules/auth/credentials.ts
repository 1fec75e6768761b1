import type { IncomingHttpHeaders } from 'node:http';

export type Credential =
  | { kind: 'none' }
  | { kind: 'malformed' }
  | { kind: 'secret'; value: string; via: 'bearer' | 'x-api-key' | 'basic' };

const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export function looksLikeJwt(value: string): boolean {
  return JWT_SHAPE.test(value);
}

/**
 * The secret a caller presents: `Authorization: Bearer`, `x-api-key`, or the HTTP Basic password (the
 * MLflow client's MLFLOW_TRACKING_PASSWORD; with MLFLOW_TRACKING_TOKEN it sends Bearer). Query strings are
 * refused before this runs (bootstrap.ts).
 */
export function extractCredential(headers: IncomingHttpHeaders): Credential {
  const authorization = headers.authorization;
  const apiKey = headers['x-api-key'];
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
      ? { kind: 'secret', value: apiKey.trim(), via: 'x-api-key' }
      : { kind: 'malformed' };
  }
  return { kind: 'none' };
}
