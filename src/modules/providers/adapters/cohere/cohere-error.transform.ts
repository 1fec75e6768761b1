import { UpstreamErrorInfo } from 'src/modules/providers/provider-adapter';
import { isRecord } from 'src/modules/providers/adapters/cohere/cohere.types';

/**
 * Cohere answers errors as `{"id": "...", "message": "..."}` (https://docs.cohere.com/reference/errors).
 * Anything else (HTML from a proxy, plain text) yields a generic message: raw text is never echoed.
 */
export function parseCohereError(status: number, body: unknown): UpstreamErrorInfo {
  let parsed = body;
  if (typeof body === 'string' && body.trimStart().startsWith('{')) {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
  }
  if (isRecord(parsed) && typeof parsed.message === 'string' && parsed.message !== '') {
    return { message: parsed.message };
  }
  return { message: `Cohere API returned HTTP ${status}` };
}
