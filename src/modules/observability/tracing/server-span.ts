import type { IncomingMessage, ServerResponse } from 'node:http';
import { Attributes, Span } from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';
import type { InvocationRecord } from 'src/common/observability/invocation';
import { definedAttributes, genAiOperation, genAiProvider } from 'src/modules/observability/tracing/gen-ai';
import { promptOf, redactForTrace } from 'src/modules/observability/tracing/trace-content';

/** The Fastify request of a raw Node request (set by the tracing onRequest hook). */
export const FASTIFY_REQUEST = Symbol('gatehouse.fastifyRequest');

type RawWithFastify = IncomingMessage & { [FASTIFY_REQUEST]?: FastifyRequest };

const PROBES = /^\/(?:health(?:\/(?:live|ready))?|metrics)\/?(?:\?|$)/;

/** Liveness/readiness probes and metric scrapes get no span. */
export function isProbe(url: string | undefined): boolean {
  return url !== undefined && PROBES.test(url);
}

export function linkFastifyRequest(request: FastifyRequest): void {
  (request.raw as RawWithFastify)[FASTIFY_REQUEST] = request;
}

/**
 * Called by the HTTP instrumentation just before it ends a server span (the response closed: finished,
 * failed or abandoned). The request-level facts come from the invocation record — the same record the
 * ledger, the metrics and the access log read — and from the principal.
 */
export function annotateServerSpan(
  span: Span,
  request: unknown,
  response: unknown,
  traceContent: boolean,
): void {
  const fastify = (request as RawWithFastify)[FASTIFY_REQUEST];
  if (fastify === undefined) return;
  const principal = fastify.principal;
  span.setAttribute('gatehouse.request_id', String(fastify.id));
  if (principal) {
    span.setAttributes(
      definedAttributes({
        'gatehouse.principal': principal.id,
        'gatehouse.team': principal.teamId ?? undefined,
        'gatehouse.api_key_id': principal.apiKeyId ?? undefined,
      }),
    );
  }
  const record = fastify.invocation?.record;
  if (record === undefined) return;
  const raw = response as ServerResponse;
  span.setAttributes(invocationAttributes(record, raw.writableFinished, raw.statusCode));
  if (traceContent) {
    const prompt = promptOf(fastify.body);
    if (prompt !== undefined) span.setAttribute('gen_ai.input.messages', redactForTrace(prompt));
  }
}

/** The GenAI and gateway attributes of an invocation, from its record (the server and invocation spans). */
export function invocationAttributes(
  record: InvocationRecord,
  finished: boolean,
  status: number,
): Attributes {
  return definedAttributes({
    'gatehouse.surface': record.surface,
    'gatehouse.endpoint': record.endpoint,
    'gatehouse.route': record.route,
    'gatehouse.target': record.target,
    'gatehouse.attempts': record.attempts,
    'gatehouse.cache_hit': record.cacheHit,
    'gatehouse.stream': record.stream,
    'gatehouse.outcome': !finished
      ? 'cancelled'
      : record.errorCode !== undefined || status >= 400
        ? 'error'
        : record.cacheHit
          ? 'cache_hit'
          : 'success',
    'gatehouse.error_code': record.errorCode,
    'gatehouse.ttft_ms': record.ttftMs === undefined ? undefined : Math.round(record.ttftMs),
    'gatehouse.cost_usd': record.costUsd,
    'gatehouse.prompt_version': record.promptVersion,
    'gatehouse.moderation.input': record.moderationInput,
    'gatehouse.moderation.output': record.moderationOutput,
    'gatehouse.purpose': record.purpose,
    'gen_ai.operation.name': record.operation === undefined ? undefined : genAiOperation(record.operation),
    'gen_ai.provider.name': record.provider === undefined ? undefined : genAiProvider(record.provider),
    'gen_ai.request.model': record.operation === 'predict' ? undefined : record.model,
    'gen_ai.usage.input_tokens': record.promptTokens,
    'gen_ai.usage.output_tokens': record.completionTokens,
    'mlflow.model.name': record.operation === 'predict' ? record.model : undefined,
    'mlflow.model.version': record.modelVersion,
  });
}
