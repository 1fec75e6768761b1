import { UpstreamFailure } from 'src/infra/http/upstream-http.client';
import { ModelEndpointEntry, ModelServingTarget } from 'src/modules/routing/model-endpoint.entry';
import { FailureKind } from 'src/modules/routing/traffic/attempt-chain';
import { RegistryErrorCode, RegistryException } from 'src/modules/registry/registry.exception';

/*
 * What callers see when a scoring server fails, in MLflow's error shape, and how retries and fallbacks
 * read each failure: the scoring server's 4xx (the caller's payload) is final; connection failures,
 * timeouts, 408, 429 and 5xx move on to another instance, version or fallback endpoint.
 */

const MAX_MESSAGE = 2000;

function what(entry: ModelEndpointEntry, target: ModelServingTarget): string {
  return `the scoring server of model '${entry.registeredModel}' version ${target.version}`;
}

function failure(
  status: number,
  errorCode: string,
  message: string,
  upstreamStatus?: number,
): RegistryException {
  return new RegistryException(
    status,
    RegistryErrorCode.ModelUnavailable,
    message,
    { error_code: errorCode, message },
    { upstreamStatus },
  );
}

export function transportError(
  entry: ModelEndpointEntry,
  target: ModelServingTarget,
  timeoutMs: number,
  error: unknown,
): Error {
  if (!(error instanceof UpstreamFailure)) return error as Error;
  if (error.kind === 'timeout') {
    return failure(
      504,
      'DEADLINE_EXCEEDED',
      `Timed out: ${what(entry, target)} did not answer within ${timeoutMs} ms.`,
    );
  }
  const message =
    error.kind === 'too_large'
      ? `The answer of ${what(entry, target)} was too large.`
      : `Could not reach ${what(entry, target)}.`;
  return failure(502, 'BAD_GATEWAY', message);
}

/** Client mistakes the scoring server found keep its status and message; its own faults become 502/503/504. */
export function scoringError(
  entry: ModelEndpointEntry,
  target: ModelServingTarget,
  status: number,
  text: string,
): RegistryException {
  let parsed: { error_code?: unknown; message?: unknown } | undefined;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const upstreamMessage =
    typeof parsed?.message === 'string'
      ? parsed.message
      : status === 415 && text.length < MAX_MESSAGE
        ? text.trim()
        : undefined;
  if ((status === 400 || status === 415 || status === 422) && upstreamMessage) {
    const errorCode = typeof parsed?.error_code === 'string' ? parsed.error_code : 'BAD_REQUEST';
    // The scoring server's stack_trace is never forwarded.
    return failure(status, errorCode, clip(upstreamMessage), status);
  }
  if (status === 504 || status === 408) {
    return failure(
      504,
      'DEADLINE_EXCEEDED',
      `Timed out: ${what(entry, target)} gave up on the request (HTTP ${status}).`,
      status,
    );
  }
  const code = status === 503 ? 503 : 502;
  return failure(
    code,
    code === 503 ? 'TEMPORARILY_UNAVAILABLE' : 'BAD_GATEWAY',
    `${capitalise(what(entry, target))} failed (HTTP ${status}).`,
    status,
  );
}

/** A predict endpoint with no routable version (no alias, no address, failed health check). */
export function unavailableError(entry: ModelEndpointEntry): RegistryException {
  const message = entry.unavailable ?? `Endpoint '${entry.name}' has no routable model version.`;
  return failure(503, 'TEMPORARILY_UNAVAILABLE', message);
}

export function deadlineError(deadlineMs: number): RegistryException {
  return failure(
    504,
    'DEADLINE_EXCEEDED',
    `No scoring server answered within the endpoint's ${deadlineMs} ms deadline.`,
  );
}

export function circuitOpenError(
  entry: ModelEndpointEntry,
  cooldownMs: number | undefined,
): RegistryException {
  const message = `Endpoint '${entry.name}' is temporarily unavailable: its circuit breaker is open after repeated scoring failures.`;
  return new RegistryException(
    503,
    RegistryErrorCode.ModelUnavailable,
    message,
    { error_code: 'TEMPORARILY_UNAVAILABLE', message },
    cooldownMs === undefined ? {} : { retryAfter: String(Math.max(1, Math.ceil(cooldownMs / 1000))) },
  );
}

/**
 * How a failed scoring attempt counts: by the scoring server's own status when it answered (429 →
 * throttled; 408 and 5xx → failure; any other 4xx → fatal), else by what went wrong on the way
 * (connection, timeout, no routable version → failure).
 */
export function classifyScoringFailure(error: unknown): FailureKind {
  if (!(error instanceof RegistryException)) return 'fatal';
  const status = error.upstreamStatus;
  if (status !== undefined) {
    if (status === 429) return 'throttled';
    return status === 408 || status >= 500 ? 'failure' : 'fatal';
  }
  return error.status === 502 || error.status === 503 || error.status === 504 ? 'failure' : 'fatal';
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
