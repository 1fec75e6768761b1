import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

const REALM = 'Bearer realm="gatehouse"';

/** The auth module's errors, rendered by the global filter in each surface's envelope. */
export const AuthErrors = {
  missingCredentials: () =>
    new GatewayException(
      401,
      GatewayErrorCode.MissingCredentials,
      "You didn't provide an API key or token. Send it as 'Authorization: Bearer <key>', as 'x-api-key', or as the HTTP Basic password.",
      { type: 'invalid_request_error', headers: { 'www-authenticate': REALM } },
    ),
  invalidApiKey: () =>
    new GatewayException(
      401,
      GatewayErrorCode.InvalidApiKey,
      'Incorrect, expired or revoked API key provided.',
      {
        type: 'invalid_request_error',
        headers: { 'www-authenticate': `${REALM}, error="invalid_token"` },
      },
    ),
  invalidToken: (why: string) =>
    new GatewayException(401, GatewayErrorCode.InvalidToken, `Invalid bearer token: ${why}.`, {
      type: 'invalid_request_error',
      headers: {
        'www-authenticate': `${REALM}, error="invalid_token", error_description="${why.replace(/"/g, "'")}"`,
      },
    }),
  malformed: () =>
    new GatewayException(
      401,
      GatewayErrorCode.InvalidApiKey,
      'Malformed credentials: send one credential, as Authorization Bearer or Basic, or as x-api-key.',
      { type: 'invalid_request_error', headers: { 'www-authenticate': `${REALM}, error="invalid_request"` } },
    ),
  unavailable: () =>
    new GatewayException(
      503,
      GatewayErrorCode.AuthUnavailable,
      "The identity provider's signing keys are unavailable; try again shortly.",
      { retryAfter: '5' },
    ),
  tooManyFailures: (retryAfterSeconds: number) =>
    new GatewayException(
      429,
      GatewayErrorCode.TooManyAuthFailures,
      'Too many failed authentication attempts from this address; try again later.',
      { retryAfter: String(retryAfterSeconds) },
    ),
  forbidden: (message = 'You do not have permission to perform this action.') =>
    new GatewayException(403, GatewayErrorCode.PermissionDenied, message, { type: 'permission_error' }),
  notRegistered: () =>
    new GatewayException(
      403,
      GatewayErrorCode.PermissionDenied,
      'The token is valid but its principal is not registered with the gateway.',
      { type: 'permission_error' },
    ),
  notFound: (what: string) =>
    new GatewayException(404, GatewayErrorCode.ObjectNotFound, `${what} not found.`),
  conflict: (message: string) => new GatewayException(409, GatewayErrorCode.Conflict, message),
  invalid: (message: string) => GatewayException.invalid(message),
};
