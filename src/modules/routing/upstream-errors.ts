import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { UpstreamFailure } from 'src/infra/http/upstream-http.client';
import { redactSecrets } from 'src/modules/observability/logging/secret-redaction';
import { UpstreamErrorInfo } from 'src/modules/providers/provider-adapter';

const MAX_MESSAGE = 1000;

/** Provider text for the caller: secrets the gateway holds (or that look like one) replaced, then clipped. */
function clip(message: string): string {
  const flat = redactSecrets(message)
    .replace(/[\r\n]+/g, ' ')
    .trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE)}…` : flat;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Maps an upstream HTTP error to what the caller sees. Client-side faults keep their status and the
 * provider's message; our own credential problems never reach the caller (bad-inputs U7); rate limits
 * keep Retry-After (U4); server faults become 502/503/504.
 */
export function fromUpstreamStatus(
  status: number,
  info: UpstreamErrorInfo,
  headers: Record<string, string | string[] | undefined>,
): GatewayException {
  // Passed on to the caller as its own Retry-After: an upstream echoing a secret there has it replaced.
  const upstreamRetryAfter = header(headers, 'retry-after');
  const retryAfter = upstreamRetryAfter === undefined ? undefined : redactSecrets(upstreamRetryAfter);
  if (status === 429) {
    return new GatewayException(429, GatewayErrorCode.UpstreamRateLimited, clip(info.message), {
      retryAfter,
      type: 'rate_limit_error',
    });
  }
  if (status === 401 || status === 403 || status === 407) {
    return new GatewayException(
      502,
      GatewayErrorCode.UpstreamError,
      "The upstream provider rejected the gateway's credentials for this endpoint; contact the gateway operator.",
    );
  }
  if (status === 404) {
    return new GatewayException(
      502,
      GatewayErrorCode.UpstreamError,
      `Upstream model not found: ${clip(info.message)}`,
    );
  }
  if (status === 408 || status === 504) {
    return new GatewayException(504, GatewayErrorCode.UpstreamTimeout, 'The upstream provider timed out.');
  }
  if (status >= 400 && status < 500) {
    return new GatewayException(status, GatewayErrorCode.InvalidRequest, clip(info.message), {
      param: info.param ?? null,
    });
  }
  // A provider's own failure says nothing the caller can act on, and its text may quote what we sent:
  // the caller gets the status and the provider's request id; the text goes to the log (redacted).
  const reference = providerRequestId(headers);
  const cited = `HTTP ${status}${reference ? `, provider request id ${reference}` : ''}`;
  if (status === 503 || status === 529) {
    return new GatewayException(
      503,
      GatewayErrorCode.UpstreamUnavailable,
      `The upstream provider is unavailable (${cited}).`,
      {
        retryAfter,
      },
    );
  }
  return new GatewayException(
    502,
    GatewayErrorCode.UpstreamError,
    `The upstream provider failed (${cited}).`,
  );
}

const REQUEST_ID_HEADERS = ['x-request-id', 'request-id', 'x-amzn-requestid', 'apim-request-id', 'cf-ray'];

/** The provider's request id (OpenAI/Azure `x-request-id`, Anthropic `request-id`, ...), if it looks like one. */
export function providerRequestId(
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  for (const name of REQUEST_ID_HEADERS) {
    const value = header(headers, name);
    if (value && /^[A-Za-z0-9_.:-]{1,128}$/.test(value) && redactSecrets(value) === value) return value;
  }
  return undefined;
}

export function fromUpstreamFailure(failure: UpstreamFailure): GatewayException {
  switch (failure.kind) {
    case 'timeout':
      return new GatewayException(504, GatewayErrorCode.UpstreamTimeout, 'The upstream provider timed out.');
    case 'too_large':
      return new GatewayException(
        502,
        GatewayErrorCode.UpstreamError,
        'The upstream response was too large.',
      );
    case 'refused':
      return new GatewayException(
        502,
        GatewayErrorCode.UpstreamError,
        'The upstream address is not allowed for this endpoint (UPSTREAM_ALLOWED_HOSTS).',
      );
    case 'connect':
      return new GatewayException(
        502,
        GatewayErrorCode.UpstreamError,
        'Could not connect to the upstream provider.',
      );
    default:
      return new GatewayException(
        502,
        GatewayErrorCode.UpstreamError,
        'The upstream provider sent an invalid response.',
      );
  }
}
