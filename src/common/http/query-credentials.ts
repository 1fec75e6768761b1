import { isGemini } from 'src/common/errors/error-surface';

/**
 * A credential in the query string, which the gateway refuses: URLs end up in proxies' and browsers'
 * logs. The one exception is Google's own `?key=` on Gemini's paths, which its SDKs and tools send; it is
 * read there by the authentication (credentials.ts) and kept out of the access log and spans.
 */
export function credentialInQuery(url: string): boolean {
  const at = url.indexOf('?');
  if (at === -1) return false;
  const query = url.slice(at);
  if (isGemini(url.slice(0, at))) return /[?&](api[_-]?key|access_token)=/i.test(query);
  return /[?&](api[_-]?key|key|access_token)=/i.test(query);
}
