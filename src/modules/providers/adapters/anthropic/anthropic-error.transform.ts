import { UpstreamErrorInfo } from 'src/modules/providers/provider-adapter';
import { isRecord } from 'src/modules/providers/adapters/anthropic/anthropic-messages.types';

/** Anthropic's documented HTTP status → error type table (https://docs.anthropic.com/en/api/errors). */
const ERROR_TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/**
 * Reads `{"type":"error","error":{"type","message"}}`. Anything else (HTML from a proxy, plain
 * text, other JSON) yields a generic message: raw upstream text is never echoed to clients.
 */
export function parseAnthropicError(status: number, body: unknown): UpstreamErrorInfo {
  const parsed = typeof body === 'string' ? tryJson(body) : body;
  if (isRecord(parsed) && isRecord(parsed.error) && typeof parsed.error.message === 'string') {
    const info: UpstreamErrorInfo = { message: parsed.error.message };
    if (typeof parsed.error.type === 'string') info.type = parsed.error.type;
    return info;
  }
  const info: UpstreamErrorInfo = { message: `Anthropic API returned HTTP ${status}` };
  const type = ERROR_TYPE_BY_STATUS[status];
  if (type !== undefined) info.type = type;
  return info;
}

function tryJson(text: string): unknown {
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
