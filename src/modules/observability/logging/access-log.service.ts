import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { context, trace } from '@opentelemetry/api';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'pino';
import { INVOCATION_FINISHED, InvocationRecord } from 'src/common/observability/invocation';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { GatewayLog } from 'src/modules/observability/logging/gateway-logger';

interface RequestFacts {
  method: string;
  path: string;
  route: string | undefined;
  traceId: string | undefined;
}

/**
 * One access line per request. Inference and predict requests are logged from their invocation record
 * (the facts the ledger and the metrics see: endpoint, target, tokens, cache, attempts, outcome); every
 * other route from the response's close (finished, failed or abandoned). No request or response
 * content is ever logged.
 */
@Injectable()
export class AccessLog implements OnApplicationShutdown {
  private logger: Logger | undefined;
  private log: GatewayLog | undefined;
  /** What only the HTTP layer knows, for the record's line. */
  private readonly facts = new WeakMap<InvocationRecord, RequestFacts>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /**
   * Where lines go; returns the onRequest hook (first in bootstrap.ts's list, so a request a later hook
   * refuses is logged too), or undefined when access lines are off.
   */
  attach(
    log: GatewayLog,
  ): ((request: FastifyRequest, reply: FastifyReply, done: () => void) => void) | undefined {
    this.log = log;
    if (!this.config.LOG_ACCESS || !log.logger.isLevelEnabled('error')) return undefined;
    this.logger = log.logger.child({ type: 'access' });
    return (request, reply, done) => {
      const started = performance.now();
      reply.raw.once('close', () => this.closed(request, reply, started));
      done();
    };
  }

  private closed(request: FastifyRequest, reply: FastifyReply, started: number): void {
    // Nothing is built for a line the level filters out (LOG_LEVEL=warn keeps only 5xx lines).
    if (!this.enabled(reply.raw.statusCode)) return;
    const facts: RequestFacts = {
      method: request.method,
      path: pathOf(request.url),
      route: request.routeOptions.url,
      // The response's listeners run in the server span's context (bound by the HTTP instrumentation).
      traceId: trace.getSpan(context.active())?.spanContext().traceId,
    };
    const record = request.invocation?.record;
    if (record !== undefined) {
      // Its line is written when the record is finished, right after this listener.
      this.facts.set(record, facts);
      return;
    }
    const raw = reply.raw;
    const status = raw.statusCode;
    const principal = request.principal;
    this.write(status, `${facts.method} ${facts.path} ${status}`, {
      requestId: String(request.id),
      traceId: facts.traceId,
      method: facts.method,
      path: facts.path,
      route: facts.route,
      status,
      latencyMs: round(performance.now() - started),
      principal: principal?.id,
      team: principal?.teamId ?? undefined,
      outcome: !raw.writableFinished ? 'cancelled' : status >= 400 ? 'error' : 'success',
    });
  }

  @OnEvent(INVOCATION_FINISHED)
  onInvocation(record: InvocationRecord): void {
    if (this.logger === undefined) return;
    const status = record.status ?? 0;
    if (!this.enabled(status)) return;
    const facts = this.facts.get(record);
    // Deleted at once: a WeakMap entry would keep its value until a major GC (promoted garbage).
    this.facts.delete(record);
    this.write(status, `${facts?.method ?? ''} ${facts?.path ?? record.surface} ${status}`.trim(), {
      requestId: record.requestId,
      traceId: facts?.traceId,
      method: facts?.method,
      path: facts?.path,
      route: facts?.route,
      status,
      latencyMs: record.latencyMs === undefined ? undefined : round(record.latencyMs),
      principal: record.principalId,
      team: record.team,
      apiKeyId: record.apiKeyId,
      surface: record.surface,
      operation: record.operation,
      stream: record.stream,
      requested: record.requested,
      trafficRoute: record.route,
      endpoint: record.endpoint,
      target: record.target,
      provider: record.provider,
      model: record.model,
      modelVersion: record.modelVersion,
      tokensIn: record.promptTokens,
      tokensOut: record.completionTokens,
      tokensEstimated: record.tokensEstimated,
      costUsd: record.costUsd,
      cache: record.cacheHit ? 'hit' : 'miss',
      attempts: record.attempts,
      ttftMs: record.ttftMs === undefined ? undefined : round(record.ttftMs),
      promptVersion: record.promptVersion,
      moderationInput: record.moderationInput,
      moderationOutput: record.moderationOutput,
      errorCode: record.errorCode,
      outcome: record.outcome,
    });
  }

  private enabled(status: number): boolean {
    return this.logger!.isLevelEnabled(status >= 500 ? 'error' : 'info');
  }

  private write(status: number, message: string, fields: Record<string, unknown>): void {
    const logger = this.logger!;
    if (status >= 500) logger.error(fields, message);
    else logger.info(fields, message);
  }

  onApplicationShutdown(): void {
    this.log?.flush();
  }
}

function pathOf(url: string): string {
  const at = url.indexOf('?');
  const path = at === -1 ? url : url.slice(0, at);
  return path.length > 256 ? `${path.slice(0, 256)}…` : path;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
