import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { context, Span, SpanKind, SpanStatusCode, trace, Tracer } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import { FastifyRequest } from 'fastify';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { InvocationRecord } from 'src/common/observability/invocation';
import {
  AttemptInfo,
  AttemptResult,
  AttemptScope,
  Phase,
  Telemetry,
} from 'src/common/observability/telemetry';
import { definedAttributes, genAiOperation, genAiProvider } from 'src/modules/observability/tracing/gen-ai';
import { openAttempts } from 'src/modules/observability/tracing/open-attempts';
import { linkFastifyRequest } from 'src/modules/observability/tracing/server-span';
import { activeTracing } from 'src/tracing';

/**
 * Plugs OpenTelemetry into the request path when src/tracing.ts started the SDK: a child span per
 * gateway phase (`gatehouse.auth`, `gatehouse.cache`, `gatehouse.moderation`, `gatehouse.routing`, …)
 * and a CLIENT span per provider attempt with the GenAI semantic-convention attributes. With tracing
 * off it registers nothing, so the request path keeps its no-op seam.
 */
@Injectable()
export class GatewayTracing implements OnModuleInit, OnApplicationShutdown {
  private readonly tracer: Tracer | undefined;

  constructor(private readonly telemetry: Telemetry) {
    this.tracer = activeTracing() === undefined ? undefined : trace.getTracer('gatehouse', '0.1.0');
  }

  get enabled(): boolean {
    return this.tracer !== undefined;
  }

  onModuleInit(): void {
    const tracer = this.tracer;
    if (tracer === undefined) return;
    this.telemetry.usePhaseRunner(
      <T>(phase: Phase, _record: InvocationRecord | undefined, fn: () => Promise<T>) =>
        tracer.startActiveSpan(`gatehouse.${phase}`, { attributes: { 'gatehouse.phase': phase } }, (span) =>
          runPhase(span, fn),
        ),
    );
    this.telemetry.addAttemptObserver({ attempt: (record, info) => startAttempt(tracer, record, info) });
  }

  /**
   * Names the server span after the route pattern (`POST /v1/chat/completions`, bounded cardinality)
   * and links the raw request to Fastify's, for the attributes set when the span ends.
   */
  onRequestHook(): ((request: FastifyRequest, reply: unknown, done: () => void) => void) | undefined {
    if (!this.enabled) return undefined;
    return (request, _reply, done) => {
      linkFastifyRequest(request);
      const route = request.routeOptions.url;
      const rpc = getRPCMetadata(context.active());
      if (route !== undefined && rpc?.type === RPCType.HTTP) rpc.route = route;
      done();
    };
  }

  async onApplicationShutdown(): Promise<void> {
    // Spans still in the batch are exported before the process exits.
    await activeTracing()?.shutdown();
  }
}

async function runPhase<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Status and a bounded error type, never the message (it may quote what the caller or upstream sent). */
function markFailed(span: Span, error: unknown): void {
  const type =
    error instanceof GatewayException
      ? error.code
      : error instanceof Error
        ? error.constructor.name
        : 'error';
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

function startAttempt(tracer: Tracer, record: InvocationRecord | undefined, info: AttemptInfo): AttemptScope {
  const parent = context.active();
  const parentSpan = trace.getSpan(parent);
  const predict = info.operation === 'predict';
  const operation = genAiOperation(info.operation);
  let server: URL | undefined;
  try {
    server = info.url === undefined ? undefined : new URL(info.url);
  } catch {
    server = undefined;
  }
  const model = predict ? record?.model : info.model;
  const span = tracer.startSpan(
    `${operation} ${model ?? info.target}`,
    {
      kind: SpanKind.CLIENT,
      attributes: definedAttributes({
        'gen_ai.operation.name': operation,
        'gen_ai.provider.name': genAiProvider(info.provider),
        'gen_ai.request.model': model,
        'server.address': server?.hostname,
        'server.port': server === undefined ? undefined : Number(server.port || defaultPort(server)),
        'gatehouse.endpoint': info.endpoint,
        'gatehouse.target': info.target,
        'gatehouse.attempt': info.attempt,
        'gatehouse.stream': info.stream,
        'gatehouse.cache_hit': false,
        'gatehouse.team': record?.team,
        'mlflow.model.name': predict ? record?.model : undefined,
        'mlflow.model.version': predict ? record?.modelVersion : undefined,
      }),
    },
    parent,
  );
  if (parentSpan !== undefined) openAttempts.set(parentSpan, span);
  const started = performance.now();
  let ended = false;
  return {
    firstByte() {
      if (ended) return;
      const ms = performance.now() - started;
      span.setAttribute('gatehouse.ttft_ms', Math.round(ms));
      span.addEvent('gen_ai.first_token');
    },
    end(result: AttemptResult) {
      if (ended) return;
      ended = true;
      if (parentSpan !== undefined && openAttempts.get(parentSpan) === span) openAttempts.delete(parentSpan);
      span.setAttributes(
        definedAttributes({
          'gen_ai.response.model': result.responseModel,
          'gen_ai.usage.input_tokens': result.inputTokens,
          'gen_ai.usage.output_tokens': result.outputTokens,
          'http.response.status_code': result.status,
        }),
      );
      const failed = result.error !== undefined || (result.status !== undefined && result.status >= 400);
      if (failed) {
        span.setAttribute('error.type', result.error ?? String(result.status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}

function defaultPort(url: URL): number {
  return url.protocol === 'https:' ? 443 : 80;
}
