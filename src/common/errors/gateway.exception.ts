/** Error codes of the public surfaces; the filter maps each to a status and to the surface's envelope. */
export enum GatewayErrorCode {
  InvalidRequest = 'invalid_request',
  InvalidJson = 'invalid_json',
  UnsupportedMediaType = 'unsupported_media_type',
  PayloadTooLarge = 'payload_too_large',
  EndpointNotFound = 'model_not_found',
  RouteNotFound = 'not_found',
  WrongEndpointType = 'wrong_endpoint_type',
  NotImplemented = 'not_implemented',
  UpstreamError = 'upstream_error',
  UpstreamTimeout = 'upstream_timeout',
  UpstreamRateLimited = 'upstream_rate_limited',
  UpstreamUnavailable = 'upstream_unavailable',
  Internal = 'internal_error',
  MissingCredentials = 'missing_credentials',
  InvalidApiKey = 'invalid_api_key',
  InvalidToken = 'invalid_token',
  PermissionDenied = 'permission_denied',
  TooManyAuthFailures = 'too_many_auth_failures',
  AuthUnavailable = 'auth_unavailable',
  ObjectNotFound = 'object_not_found',
  Conflict = 'conflict',
  SecretsUnavailable = 'secrets_unavailable',
  /** A guardrail (moderation policy) blocked the request or the response. */
  ContentPolicyViolation = 'content_policy_violation',
  PromptNotFound = 'prompt_not_found',
  PromptUnavailable = 'prompt_unavailable',
  OutputValidationFailed = 'output_validation_failed',
  ContextLengthExceeded = 'context_length_exceeded',
  ConversationNotFound = 'conversation_not_found',
  /** A Responses API `previous_response_id` the caller cannot see (OpenAI's code). */
  PreviousResponseNotFound = 'previous_response_not_found',
  /** A request-rate, token-rate or concurrency limit of the gateway (not the upstream's). */
  RateLimitExceeded = 'rate_limit_exceeded',
  /** A hard USD budget has no room left for this request in its period. */
  BudgetExceeded = 'budget_exceeded',
  /** Budgets cannot be checked (Redis unreachable): refused rather than risk overspending. */
  LimitsUnavailable = 'limits_unavailable',
  /** The API product serving this endpoint was retired (410). */
  ProductRetired = 'product_retired',
  /** The process is draining for shutdown: retry (another replica or worker answers). */
  ShuttingDown = 'server_shutting_down',
  /** Knowledge bases need pgvector, which this PostgreSQL server does not have. */
  VectorStoreUnavailable = 'vector_store_unavailable',
  /** The process is past its capacity (ADMISSION_TARGET_DELAY_MS): shed, retry shortly. */
  Overloaded = 'overloaded',
}

export interface GatewayExceptionOptions {
  param?: string | null;
  /** Seconds, forwarded as the `Retry-After` header. */
  retryAfter?: string;
  /** MLflow-surface body override (e.g. FastAPI's 422 validation list). */
  mlflowDetail?: unknown;
  /** MLflow-surface status override (FastAPI answers body validation errors with 422). */
  mlflowStatus?: number;
  /** OpenAI `error.type` override. */
  type?: string;
  /** Extra response headers (e.g. `WWW-Authenticate` on a 401). */
  headers?: Record<string, string>;
}

export class GatewayException extends Error {
  constructor(
    readonly status: number,
    readonly code: GatewayErrorCode,
    message: string,
    readonly options: GatewayExceptionOptions = {},
  ) {
    super(message);
  }

  static invalid(message: string, param: string | null = null): GatewayException {
    return new GatewayException(400, GatewayErrorCode.InvalidRequest, message, { param });
  }
}
