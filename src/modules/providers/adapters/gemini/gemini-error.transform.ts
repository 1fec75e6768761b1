import { UpstreamErrorInfo } from 'src/modules/providers/provider-adapter';
import { isRecord, Json } from 'src/modules/providers/adapters/gemini/gemini.types';

/** Google's canonical status name per HTTP status (https://ai.google.dev/gemini-api/docs/troubleshooting). */
const STATUS_BY_HTTP: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/**
 * Reads Google's error envelope `{"error":{"code","message","status","details"}}` (also sent as a
 * list of one envelope by the non-SSE stream). Anything else (an HTML page from a proxy, plain text)
 * yields a generic message: raw upstream text is never echoed to clients.
 */
export function parseGeminiError(status: number, body: unknown): UpstreamErrorInfo {
  let parsed = typeof body === 'string' ? tryJson(body) : body;
  if (Array.isArray(parsed) && parsed.length > 0) parsed = parsed[0];
  if (isRecord(parsed) && isRecord(parsed.error) && typeof parsed.error.message === 'string') {
    return errorInfoOf(parsed.error);
  }
  const info: UpstreamErrorInfo = { message: `Google API returned HTTP ${status}` };
  const type = STATUS_BY_HTTP[status];
  if (type !== undefined) info.type = type;
  return info;
}

export function errorInfoOf(error: Json): UpstreamErrorInfo {
  const message =
    typeof error.message === 'string' && error.message !== '' ? error.message : 'Google API error';
  const info: UpstreamErrorInfo = { message };
  if (typeof error.status === 'string') info.type = error.status;
  return info;
}

function tryJson(text: string): unknown {
  const start = text.trimStart()[0];
  if (start !== '{' && start !== '[') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
