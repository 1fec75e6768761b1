import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

export enum RegistryErrorCode {
  RegistryUnavailable = 'registry_unavailable',
  RegistryDisabled = 'registry_disabled',
  ModelNotFound = 'registered_model_not_found',
  WebhookSignature = 'webhook_signature_invalid',
  WebhookReplay = 'webhook_replayed',
  ModelUnavailable = 'model_version_unavailable',
}

/** Registry and model-serving failures, mapped to the surfaces by the common exception filter. */
export class RegistryException extends GatewayException {
  constructor(
    status: number,
    readonly registryCode: RegistryErrorCode,
    message: string,
    mlflowDetail?: unknown,
    extra: {
      /** The scoring server's own HTTP status behind the error (what retries and fallbacks look at). */
      upstreamStatus?: number;
      retryAfter?: string;
    } = {},
  ) {
    super(status, gatewayCodeOf(status), message, {
      ...(mlflowDetail === undefined ? {} : { mlflowDetail }),
      ...(extra.retryAfter === undefined ? {} : { retryAfter: extra.retryAfter }),
    });
    this.upstreamStatus = extra.upstreamStatus;
  }

  readonly upstreamStatus: number | undefined;
}

function gatewayCodeOf(status: number): GatewayErrorCode {
  if (status === 404) return GatewayErrorCode.RouteNotFound;
  if (status === 409) return GatewayErrorCode.Conflict;
  if (status === 503) return GatewayErrorCode.UpstreamUnavailable;
  if (status === 504) return GatewayErrorCode.UpstreamTimeout;
  if (status >= 500) return GatewayErrorCode.UpstreamError;
  return GatewayErrorCode.InvalidRequest;
}

/** Transport or protocol failure talking to the MLflow tracking server (never shown to callers verbatim). */
export class RegistryFetchError extends Error {}
