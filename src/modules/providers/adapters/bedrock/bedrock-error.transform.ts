import { UpstreamErrorInfo } from 'src/modules/providers/provider-adapter';
import { isRecord } from 'src/modules/providers/adapters/bedrock/converse.types';

/**
 * Bedrock's documented error → HTTP status table (what the AWS SDK maps `x-amzn-ErrorType` to); used
 * to name the error when only a status came back.
 */
export const BEDROCK_ERROR_TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

/**
 * Reads the restJson1 error: the type from `x-amzn-errortype` (`ThrottlingException:http://…`) or
 * the body's `__type`, the text from `message`/`Message`. Anything else (an HTML page from a proxy)
 * yields a generic message: raw upstream text is never echoed to clients.
 */
export function parseBedrockError(
  status: number,
  body: unknown,
  headers: Record<string, string | string[] | undefined> = {},
): UpstreamErrorInfo {
  const parsed = typeof body === 'string' ? tryJson(body) : body;
  const type = errorType(headers['x-amzn-errortype'], parsed) ?? BEDROCK_ERROR_TYPE_BY_STATUS[status];
  let message = `Amazon Bedrock returned HTTP ${status}`;
  if (isRecord(parsed)) {
    const text = parsed.message ?? parsed.Message;
    if (typeof text === 'string' && text !== '') message = text;
  }
  return type === undefined ? { message } : { message, type };
}

function errorType(header: string | string[] | undefined, body: unknown): string | undefined {
  const raw = (Array.isArray(header) ? header[0] : header) ?? (isRecord(body) ? body.__type : undefined);
  if (typeof raw !== 'string' || raw === '') return undefined;
  // `ThrottlingException:http://internal.amazon.com/...` or `com.amazon.coral#ThrottlingException`.
  const name = raw.split(':')[0].split('#').pop()!;
  return /^[A-Za-z]{1,100}$/.test(name) ? name : undefined;
}

function tryJson(text: string): unknown {
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
