import { Injectable } from '@nestjs/common';
import { context, SpanKind, SpanStatusCode, trace, Tracer } from '@opentelemetry/api';
import { InvocationContext, InvocationResult, StageNext } from 'src/modules/pipeline/invocation-context';
import { StageInterceptor } from 'src/modules/pipeline/stage.interceptor';
import { invocationAttributes } from 'src/modules/observability/tracing/server-span';
import { activeTracing } from 'src/tracing';

/**
 * The invocation span: every later stage (prompt, limits, moderation, cache, routing) runs inside it, so
 * their phase spans and the CLIENT span of each provider attempt (started by routing, which alone sees
 * retries and fallbacks) are its children. It ends when the invocation is over, with the GenAI
 * attributes from the invocation's record. With tracing off the stage does nothing.
 */
@Injectable()
export class TracingInterceptor extends StageInterceptor {
  private readonly tracer: Tracer | undefined =
    activeTracing() === undefined ? undefined : trace.getTracer('gatehouse', '0.1.0');

  around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    const tracer = this.tracer;
    if (tracer === undefined) return next();
    const record = ctx.record;
    const span = tracer.startSpan(`gatehouse.invocation ${record.requested ?? ctx.surface}`.slice(0, 160), {
      kind: SpanKind.INTERNAL,
      attributes: { 'gatehouse.request_id': ctx.requestId, 'gatehouse.surface': ctx.surface },
    });
    ctx.onFinish(() => {
      const failed = record.errorCode !== undefined || (record.status ?? 0) >= 400;
      span.setAttributes(invocationAttributes(record, record.outcome !== 'cancelled', record.status ?? 0));
      if (failed) {
        span.setAttribute('error.type', record.errorCode ?? String(record.status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    });
    return context.with(trace.setSpan(context.active(), span), next);
  }
}
