import { Injectable } from '@nestjs/common';
import { inputMessages } from 'src/modules/pipeline/inbound/responses/responses-request.decoder';
import { InvocationContext, InvocationResult, StageNext } from 'src/modules/pipeline/invocation-context';
import { StageInterceptor } from 'src/modules/pipeline/stage.interceptor';
import type { ChatRequest } from 'src/modules/providers/provider-adapter';
import { inputItems, Item, ownerOf } from 'src/modules/responses/response-items';
import { StoredResponsesService } from 'src/modules/responses/stored-responses.service';

/** The Responses API body fields this stage reads (the decoder has checked their types). */
interface ResponsesBody {
  input: unknown;
  store?: boolean | null;
  previous_response_id?: string | null;
}

/**
 * Stored responses for the Responses API, after validation and before limits (which then count the whole
 * conversation): a request with `previous_response_id` gets the earlier turns (their inputs and outputs)
 * put before its own input, and a request with `store` (OpenAI's default) has its answer stored as the
 * client received it, once the edge encoded it, without delaying it. Every other request passes straight
 * through: no read, no await.
 */
@Injectable()
export class StoredResponsesInterceptor extends StageInterceptor {
  constructor(private readonly responses: StoredResponsesService) {
    super();
  }

  around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    if (ctx.surface !== 'responses' || ctx.answer !== 'upstream' || !ctx.endpoint) return next();
    const body = ctx.native as ResponsesBody;
    const previous = body.previous_response_id;
    if (typeof previous !== 'string') {
      this.keep(ctx, body, []);
      return next();
    }
    return this.continue(ctx, body, previous, next);
  }

  private async continue(
    ctx: InvocationContext,
    body: ResponsesBody,
    previous: string,
    next: StageNext,
  ): Promise<InvocationResult> {
    const earlier = await this.responses.conversation(ctx.principal, previous);
    const request = ctx.request as ChatRequest;
    // The request's own input is the tail of its messages (after instructions): the turns go before it.
    const at = request.messages.length - inputMessages(body.input).length;
    request.messages.splice(at, 0, ...inputMessages(earlier));
    this.keep(ctx, body, earlier);
    return next();
  }

  private keep(ctx: InvocationContext, body: ResponsesBody, context: Item[]): void {
    if (body.store === false) return;
    const owner = ownerOf(ctx.principal);
    const endpoint = ctx.endpoint!.name;
    ctx.answered = (answer) => {
      const response = answer as Item;
      this.responses.save({
        id: response.id as string,
        owner,
        endpoint,
        response,
        inputItems: inputItems(body.input),
        contextItems: context,
      });
    };
  }
}
