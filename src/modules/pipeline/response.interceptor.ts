import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { from, lastValueFrom, Observable } from 'rxjs';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { toMlflowResponse } from 'src/modules/pipeline/mlflow-response';
import {
  InvocationContext,
  invocationContextOf,
  InvocationResult,
} from 'src/modules/pipeline/invocation-context';
import { inboundFormat } from 'src/modules/pipeline/inbound/inbound-formats';
import { openAISseEncoder, writeSse } from 'src/modules/pipeline/sse-writer';
import { ChatCompletion, ChatMessage, Operation } from 'src/modules/providers/provider-adapter';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The edge on the way out, the outermost stage: sets the headers the stages collected on the context
 * and writes the answer in the surface's own shape — OpenAI JSON, MLflow's response shapes, a prompt
 * API's validated JSON, Server-Sent Events (with `[DONE]` except on MLflow's legacy paths) or a scoring
 * server's JSON text. Errors go to the exception filter, which sets the same headers.
 */
@Injectable()
export class ResponseInterceptor implements NestInterceptor<InvocationResult, void> {
  intercept(context: ExecutionContext, next: CallHandler<InvocationResult>): Observable<void> {
    const ctx = invocationContextOf(context);
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return from(lastValueFrom(next.handle()).then((result) => write(ctx, reply, result)));
  }
}

async function write(ctx: InvocationContext, reply: FastifyReply, result: InvocationResult): Promise<void> {
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
    await writeSse(reply, result.chunks, encoder, () => ctx.closed);
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

/** The text of a chat reply (string content or its text parts). */
export function replyText(message: ChatMessage | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
      .join('');
  }
  return '';
}
