import { Injectable } from '@nestjs/common';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { Telemetry } from 'src/common/observability/telemetry';
import { addUsage } from 'src/modules/limits/limits.interceptor';
import { InvocationContext, InvocationResult } from 'src/modules/pipeline/invocation-context';
import { replyText } from 'src/modules/pipeline/reply-text';
import { ChatCompletion, ChatRequest, Operation } from 'src/modules/providers/provider-adapter';
import { ModelServingService } from 'src/modules/registry/model-serving.service';
import { RoutingService } from 'src/modules/routing/routing.service';
import { TokenCounter } from 'src/modules/tokens/token-counter';

/**
 * The pipeline's handler: the upstream call itself, once every stage before it has had its say. LLM
 * calls go through routing (retries, fallbacks, breakers, one CLIENT span per attempt); predict calls
 * to the scoring servers of the resolved version. A prompt API whose reply fails its output schema is
 * asked once more, with the problem explained.
 */
@Injectable()
export class InvocationDispatcher {
  constructor(
    private readonly routing: RoutingService,
    private readonly serving: ModelServingService,
    private readonly telemetry: Telemetry,
    private readonly tokens: TokenCounter,
  ) {}

  dispatch(ctx: InvocationContext): Promise<InvocationResult> {
    return this.telemetry.phase('routing', ctx.record, () => this.call(ctx));
  }

  private async call(ctx: InvocationContext): Promise<InvocationResult> {
    if (ctx.model) return { kind: 'prediction', json: await this.serving.predict(ctx) };
    if (ctx.answer === 'token-count') return this.countTokens(ctx);
    const record = ctx.record;
    const op = ctx.operation as Operation;
    const endpoint = ctx.endpoint!;
    const route = ctx.route?.endpointType === 'ml/v1/predict' ? undefined : ctx.route;
    try {
      if (ctx.stream) {
        return {
          kind: 'stream',
          chunks: await this.routing.openStream(op, ctx.request!, endpoint, ctx.signal, record, route),
        };
      }
      if (!ctx.api) {
        return {
          kind: 'response',
          response: await this.routing.invoke(op, ctx.request!, endpoint, ctx.signal, record, route),
        };
      }
      let request = ctx.request as ChatRequest;
      for (let tries = 1; ; tries++) {
        const response = (await this.routing.invoke(
          op,
          request,
          endpoint,
          ctx.signal,
          record,
          route,
        )) as ChatCompletion;
        const text = replyText(response.choices[0]?.message);
        const check = ctx.api.check(text);
        if (check.ok) return { kind: 'response', response };
        if (tries >= 2) {
          throw new GatewayException(
            502,
            GatewayErrorCode.OutputValidationFailed,
            `The model's output did not match the API's output schema after a retry: ${check.problem}.`,
          );
        }
        // The rejected answer was paid for: its tokens count too.
        addUsage(record, response.usage);
        request = ctx.api.retry(request, text, check.problem);
      }
    } finally {
      if (record.target !== undefined) {
        ctx.header('x-gatehouse-target', record.target);
        ctx.header('x-gatehouse-attempts', String(record.attempts));
      }
    }
  }

  /**
   * The prompt tokens of a chat request, by the same estimate the token limits reserve with (the
   * model's own tokenizer for OpenAI models, an approximation for others), tool declarations included.
   */
  private async countTokens(ctx: InvocationContext): Promise<InvocationResult> {
    const endpoint = ctx.endpoint!;
    const request = ctx.request as ChatRequest;
    const counter = await this.tokens.counterFor(TokenCounter.choose(endpoint.provider, endpoint.modelName));
    const tools = request.tools?.length ? counter.text(JSON.stringify(request.tools)) : 0;
    return { kind: 'token-count', inputTokens: counter.messages(request.messages) + tools };
  }
}
