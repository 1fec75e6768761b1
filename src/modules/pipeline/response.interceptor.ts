import { CallHandler, ExecutionContext, Injectable, NestInterceptor, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { FastifyReply } from 'fastify';
import { from, lastValueFrom, Observable } from 'rxjs';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { ShutdownState } from 'src/infra/lifecycle/shutdown-state';
import { toMlflowResponse } from 'src/modules/pipeline/mlflow-response';
import {
  InvocationContext,
  invocationContextOf,
  InvocationResult,
  InvocationStage,
} from 'src/modules/pipeline/invocation-context';
import { inboundFormat } from 'src/modules/pipeline/inbound/inbound-formats';
import { INVOCATION_STAGES } from 'src/modules/pipeline/stages';
import { openAISseEncoder, writeSse } from 'src/modules/pipeline/sse-writer';
import { replyText } from 'src/modules/pipeline/reply-text';
import { ChatCompletion, Operation } from 'src/modules/providers/provider-adapter';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The edge, the one interceptor of every inference entry point. On the way in it runs the pipeline's
 * stages (stages.ts) as one chain around the handler; on the way out it sets the headers the stages
 * collected on the context and writes the answer in the surface's own shape — OpenAI JSON, MLflow's
 * response shapes, a prompt API's validated JSON, Server-Sent Events (with `[DONE]` except on MLflow's
 * legacy paths) or a scoring server's JSON text. Errors go to the exception filter, which sets the same
 * headers.
 */
@Injectable()
export class ResponseInterceptor implements NestInterceptor<InvocationResult, void>, OnModuleInit {
  private stages: readonly InvocationStage[] = [];

  constructor(
    private readonly modules: ModuleRef,
    private readonly shutdown: ShutdownState,
  ) {}

  onModuleInit(): void {
    // The stage instances are the providers their own modules declare (one of each in the app).
    this.stages = INVOCATION_STAGES.map((stage) => this.modules.get(stage, { strict: false }));
  }

  intercept(context: ExecutionContext, next: CallHandler<InvocationResult>): Observable<void> {
    const ctx = invocationContextOf(context);
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    if (this.stages.length === 0) this.onModuleInit();
    const stages = this.stages;
    const handler = (): Promise<InvocationResult> => lastValueFrom(next.handle());
    const run = (i: number): Promise<InvocationResult> =>
      i === stages.length ? handler() : stages[i].around(ctx, () => run(i + 1));
    return from(run(0).then((result) => write(ctx, reply, result, this.shutdown.streamsEnd)));
  }
}

async function write(
  ctx: InvocationContext,
  reply: FastifyReply,
  result: InvocationResult,
  drainDeadline: AbortSignal,
): Promise<void> {
  const headers = ctx.responseHeaders;
  const format = inboundFormat(ctx.surface);
  if (result.kind === 'stream') {
    void reply.headers(headers);
    const request = ctx.request as { stream_options?: { include_usage?: boolean } } | undefined;
    const encoder =
      format?.streamEncoder(ctx) ??
      openAISseEncoder({
        includeUsage: request?.stream_options?.include_usage === true,
        emitDone: ctx.surface !== 'mlflow',
      });
    await writeSse(reply, result.chunks, encoder, () => ctx.closed, {
      deadline: drainDeadline,
      abortUpstream: () => ctx.abort(),
    });
    return;
  }
  let body: string;
  if (result.kind === 'token-count') {
    if (!format) throw new Error(`token count on the ${ctx.surface} surface, which has no inbound format`);
    body = JSON.stringify(format.tokenCount(result.inputTokens));
  } else if (format && result.kind === 'response') {
    body = JSON.stringify(format.encode(result.response, ctx.operation as Operation, ctx));
  } else if (result.kind === 'prediction') {
    body = result.json;
  } else if (ctx.surface === 'api') {
    body = JSON.stringify(promptApiAnswer(ctx, result.response as ChatCompletion));
  } else if (ctx.surface === 'mlflow' || ctx.surface === 'mlflow-v3') {
    body = JSON.stringify(
      toMlflowResponse(ctx.operation as Operation, result.response, ctx.endpoint!.provider),
    );
  } else {
    body = JSON.stringify(result.response);
  }
  void reply.status(200).headers(headers).header('content-type', JSON_TYPE).send(body);
}

/** A prompt API answers with the JSON its output schema accepts (validated again after the guardrails). */
function promptApiAnswer(ctx: InvocationContext, response: ChatCompletion): unknown {
  const check = ctx.api!.check(replyText(response.choices[0]?.message));
  if (check.ok) return check.value;
  throw new GatewayException(
    502,
    GatewayErrorCode.OutputValidationFailed,
    `The model's output did not match the API's output schema: ${check.problem}.`,
  );
}
