import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Principal } from 'src/common/auth/principal';
import { renderError, toGatewayException } from 'src/common/errors/error-renderer';
import { InvocationTracker } from 'src/common/observability/invocation-tracker.service';
import { AuditService } from 'src/modules/audit/audit.service';
import { EndpointAccessGuard } from 'src/modules/auth/endpoint-access.guard';
import { RateLimitGuard } from 'src/modules/limits/rate-limit.guard';
import {
  InvocationContext,
  InvocationResult,
  InvocationStage,
} from 'src/modules/pipeline/invocation-context';
import { InvocationDispatcher } from 'src/modules/pipeline/invocation-dispatcher';
import { InvocationResolver } from 'src/modules/pipeline/invocation-resolver';
import { INVOCATION_STAGES } from 'src/modules/pipeline/stages';
import { Operation } from 'src/modules/providers/provider-adapter';

/** One call made without an HTTP request of its own (a batch line), as its caller would have made it. */
export interface PipelineCall {
  /** The request id logs, spans and errors carry. */
  requestId: string;
  /** The ledger row's id: a stable one makes a retried call's row replace, never add to, the first. */
  invocationId: string;
  principal: Principal;
  op: Operation;
  body: Record<string, unknown>;
  signal: AbortSignal;
  /** The batch the call is a line of (ledger tag). */
  batchId?: string;
  /** Share of each request-rate limit the call may use (see RateLimitGuard.admitInvocation). */
  rateShare?: number;
}

/** What the caller would have received: the status and the OpenAI-shaped JSON body. */
export interface PipelineAnswer {
  status: number;
  body: unknown;
  /** The gateway error code of a refused or failed call. */
  code?: string;
  retryAfterSeconds?: number;
}

/**
 * The pipeline's internal entry point, for calls that arrive without an HTTP request of their own (batch
 * lines): the same guards (endpoint resolution, grants and key scopes, request-rate limits) and the same
 * stages (stages.ts, in order: tracing, prompts, validation, conversations, token limits and budgets,
 * guardrails, cache) around the same handler as `POST /v1/chat/completions`, with the submitting
 * caller's identity. Only the edge differs: no Fastify objects, and the answer comes back as data.
 */
@Injectable()
export class PipelineInvoker implements OnModuleInit {
  private readonly logger = new Logger('PipelineInvoker');
  private stages: readonly InvocationStage[] = [];

  constructor(
    private readonly modules: ModuleRef,
    private readonly tracker: InvocationTracker,
    private readonly resolver: InvocationResolver,
    private readonly access: EndpointAccessGuard,
    private readonly rates: RateLimitGuard,
    private readonly dispatcher: InvocationDispatcher,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.stages = INVOCATION_STAGES.map((stage) => this.modules.get(stage, { strict: false }));
  }

  async invoke(call: PipelineCall): Promise<PipelineAnswer> {
    const record = this.tracker.begin({
      requestId: call.requestId,
      surface: 'openai',
      principal: call.principal,
    });
    record.invocationId = call.invocationId;
    record.batchId = call.batchId;
    const ctx = new InvocationContext({
      requestId: call.requestId,
      principal: call.principal,
      headers: {},
      source: undefined,
      surface: 'openai',
      op: call.op,
      record,
      body: call.body,
      signal: call.signal,
    });
    let status = 200;
    try {
      this.resolver.resolve(ctx, { surface: 'openai', op: call.op, name: 'body-model' }, undefined, '');
      this.access.authorize(ctx, (targetType, targetId) => this.denied(call, targetType, targetId));
      await this.rates.admitInvocation(ctx, call.rateShare ?? 1);
      const stages = this.stages;
      const run = (i: number): Promise<InvocationResult> =>
        i === stages.length ? this.dispatcher.dispatch(ctx) : stages[i].around(ctx, () => run(i + 1));
      const result = await run(0);
      if (result.kind !== 'response') throw new Error(`unexpected ${result.kind} result for a batch line`);
      return { status: 200, body: result.response };
    } catch (error) {
      const { exception } = toGatewayException(error);
      status = exception.status;
      record.errorCode = exception.code;
      const rendered = renderError(exception, 'openai', call.requestId);
      const retryAfter = Number(exception.options.retryAfter);
      return {
        status: rendered.status,
        body: rendered.body,
        code: exception.code,
        retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
      };
    } finally {
      this.tracker.finish(record, status, true, () => ctx.finish());
    }
  }

  private denied(call: PipelineCall, targetType: string, targetId: string): void {
    void this.audit
      .appendBatch([
        {
          actorId: call.principal.id,
          actorName: call.principal.name,
          teamId: call.principal.teamId,
          action: 'endpoint.invoke',
          outcome: 'denied',
          targetType,
          targetId,
          before: null,
          after: null,
          requestId: call.requestId,
          source: null,
        },
      ])
      .catch((error: unknown) =>
        this.logger.error(`could not record denial (request ${call.requestId}): ${(error as Error).message}`),
      );
  }
}
