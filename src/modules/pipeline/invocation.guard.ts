import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyReply, FastifyRequest } from 'fastify';
import { InvocationTracker } from 'src/common/observability/invocation-tracker.service';
import { INVOCATION_SPEC, InvocationContext, InvocationSpec } from 'src/modules/pipeline/invocation-context';
import { inboundFormat } from 'src/modules/pipeline/inbound/inbound-formats';
import { InvocationResolver } from 'src/modules/pipeline/invocation-resolver';
import { Operation } from 'src/modules/providers/provider-adapter';

/**
 * The first stage of every inference entry point: builds the invocation's context and record from the
 * HTTP request (the only place the pipeline reads Fastify objects, with the response interceptor) and
 * resolves the endpoint the caller names. From here on every stage works on the context.
 */
@Injectable()
export class InvocationGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tracker: InvocationTracker,
    private readonly resolver: InvocationResolver,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const spec = this.reflector.get<InvocationSpec | undefined>(INVOCATION_SPEC, context.getHandler());
    if (!spec) throw new Error('InvocationGuard on a route without @Invocation()');
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const principal = request.principal;
    const requestId = String(request.id);
    const record = this.tracker.begin({ requestId, surface: spec.surface, principal });
    const ctx = new InvocationContext({
      requestId,
      principal,
      headers: request.headers,
      source: request.ip,
      surface: spec.surface,
      op: spec.op,
      record,
      body: request.body,
      answer: spec.answer,
      query: inboundQuery(request.query),
      ask: spec.ask,
    });
    request.invocation = ctx;
    const raw = reply.raw;
    // A complete answer is concluded just before its last byte goes out, not at `close`, which comes
    // after the bytes left: the ledger journals the record synchronously then, so a process killed right
    // after the caller got its answer still has the row on disk. Fastify ends every reply (streams
    // included) through `end()`; an answer whose socket dies during that last write counts as delivered.
    let answered = false;
    const end = raw.end.bind(raw) as (...args: unknown[]) => typeof raw;
    raw.end = ((...args: unknown[]) => {
      if (!answered && !raw.destroyed && !raw.writableEnded) {
        answered = true;
        this.tracker.answered(record, raw.statusCode, () => ctx.finish());
      }
      return end(...args);
    }) as typeof raw.end;
    // Otherwise one listener settles everything: the upstream call is cancelled if the caller left, every
    // stage releases what it holds, and the record is emitted (ledger, metrics, access log).
    raw.once('close', () => {
      if (answered) return this.tracker.closed(record);
      const ended = raw.writableFinished;
      if (!ended) ctx.abort();
      this.tracker.finish(record, raw.statusCode, ended, () => ctx.finish());
    });
    this.resolver.resolve(ctx, spec, request.params as Record<string, string> | undefined, request.url);
    // A client's own wire format becomes the canonical body here, before any stage reads the body.
    const format = inboundFormat(spec.surface);
    if (format && !ctx.model) {
      ctx.native = ctx.body;
      ctx.body = format.decode(ctx.body, ctx.operation as Operation, ctx.answer, spec.stream === true);
    }
    return true;
  }
}

/** The query parameters an inbound format may read; credentials (Gemini's `?key=`) never enter the context. */
function inboundQuery(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (query === null || typeof query !== 'object') return out;
  const alt = (query as Record<string, unknown>).alt;
  if (typeof alt === 'string') out.alt = alt;
  return out;
}
