import { HttpException } from '@nestjs/common';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { ErrorSurface } from 'src/common/errors/error-surface';

export interface RenderedError {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

const OPENAI_TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
  503: 'api_error',
};

/** Anthropic's `error.type` for a status (its documented error types; 5xx other than 529 are `api_error`). */
const ANTHROPIC_TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'not_found_error',
  413: 'request_too_large',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
};

export function anthropicErrorType(status: number): string {
  return ANTHROPIC_TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

/** Google's canonical `error.status` for an HTTP status (google.rpc.Code names). */
const GOOGLE_STATUS_BY_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'NOT_FOUND',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  415: 'INVALID_ARGUMENT',
  422: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export function googleErrorStatus(status: number): string {
  return GOOGLE_STATUS_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
}

/** Fastify's own client errors (body limits, content types) keyed by their error code. */
const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; code: GatewayErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: GatewayErrorCode.PayloadTooLarge,
    message: 'Request body is larger than the allowed limit.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: GatewayErrorCode.UnsupportedMediaType,
    message: "Unsupported Content-Type: send the request body as 'application/json'.",
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: GatewayErrorCode.InvalidRequest,
    message: 'Request body length does not match its Content-Length header.',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: GatewayErrorCode.InvalidJson,
    message: 'Request body is empty; expected a JSON object.',
  },
};

/** Nest turns Fastify's parser errors into HttpExceptions; these get the gateway's own codes and words. */
const HTTP_STATUS_ERRORS: Record<number, { code: GatewayErrorCode; message: string }> = {
  404: { code: GatewayErrorCode.RouteNotFound, message: 'Not Found' },
  405: { code: GatewayErrorCode.RouteNotFound, message: 'Method Not Allowed' },
  413: {
    code: GatewayErrorCode.PayloadTooLarge,
    message: FASTIFY_CLIENT_ERRORS.FST_ERR_CTP_BODY_TOO_LARGE.message,
  },
  415: {
    code: GatewayErrorCode.UnsupportedMediaType,
    message: FASTIFY_CLIENT_ERRORS.FST_ERR_CTP_INVALID_MEDIA_TYPE.message,
  },
};

/** Normalises anything thrown into a GatewayException; unknown errors become a generic 500. */
export function toGatewayException(error: unknown): { exception: GatewayException; unexpected: boolean } {
  if (error instanceof GatewayException) return { exception: error, unexpected: false };
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const known = HTTP_STATUS_ERRORS[status];
    if (known)
      return { exception: new GatewayException(status, known.code, known.message), unexpected: false };
    const code = status >= 500 ? GatewayErrorCode.Internal : GatewayErrorCode.InvalidRequest;
    const message = httpExceptionMessage(error);
    return { exception: new GatewayException(status, code, message), unexpected: status >= 500 };
  }
  const fastifyCode = (error as { code?: unknown } | null)?.code;
  if (typeof fastifyCode === 'string' && FASTIFY_CLIENT_ERRORS[fastifyCode]) {
    const known = FASTIFY_CLIENT_ERRORS[fastifyCode];
    return { exception: new GatewayException(known.status, known.code, known.message), unexpected: false };
  }
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return {
      exception: new GatewayException(statusCode, GatewayErrorCode.InvalidRequest, 'Bad request.'),
      unexpected: false,
    };
  }
  return {
    exception: new GatewayException(500, GatewayErrorCode.Internal, 'Internal server error.'),
    unexpected: true,
  };
}

function httpExceptionMessage(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return error.message;
}

export function renderError(
  exception: GatewayException,
  surface: ErrorSurface,
  requestId: string,
): RenderedError {
  const headers: Record<string, string> = { ...exception.options.headers };
  if (exception.options.retryAfter) headers['retry-after'] = exception.options.retryAfter;
  const status = exception.status;
  const message =
    status >= 500 && exception.code === GatewayErrorCode.Internal
      ? `Internal server error (request id ${requestId}).`
      : exception.message;

  if (surface === 'openai') {
    return {
      status,
      headers,
      body: {
        error: {
          message,
          type: exception.options.type ?? OPENAI_TYPE_BY_STATUS[status] ?? 'api_error',
          param: exception.options.param ?? null,
          code: exception.code,
        },
      },
    };
  }
  if (surface === 'anthropic') {
    return {
      status,
      headers,
      body: { type: 'error', error: { type: anthropicErrorType(status), message }, request_id: requestId },
    };
  }
  if (surface === 'gemini') {
    return {
      status,
      headers,
      body: { error: { code: status, message, status: googleErrorStatus(status) } },
    };
  }
  if (surface === 'mlflow') {
    return {
      status: exception.options.mlflowStatus ?? status,
      headers,
      body: { detail: exception.options.mlflowDetail ?? message },
    };
  }
  return { status, headers, body: { statusCode: status, code: exception.code, message, requestId } };
}
