import { Injectable } from '@nestjs/common';
import { ConversationService } from 'src/modules/conversations/conversation.service';
import { InvocationContext, InvocationResult, StageNext } from 'src/modules/pipeline/invocation-context';
import { StageInterceptor } from 'src/modules/pipeline/stage.interceptor';
import { ChatRequest } from 'src/modules/providers/provider-adapter';
import { EndpointEntry } from 'src/modules/routing/route-table';

/**
 * Conversation context and window discipline for chat calls, before limits are reserved (they count the
 * fitted prompt): a request with a conversation id gets its stored history fitted to the model's window
 * (truncated or summarised), and its turn is stored with the reply the caller actually saw (after the
 * output guardrails). Only requests with a conversation id touch the database.
 */
@Injectable()
export class ConversationInterceptor extends StageInterceptor {
  constructor(private readonly conversations: ConversationService) {
    super();
  }

  around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    const endpoint = ctx.endpoint;
    // A token count is of the request as sent; it neither reads nor adds to a conversation.
    if (ctx.operation !== 'chat' || !endpoint || ctx.answer !== 'upstream') return next();
    const request = ctx.request as ChatRequest;
    if (!this.conversations.applies(endpoint, request, ctx)) return next();
    return this.converse(ctx, endpoint, request, next);
  }

  private async converse(
    ctx: InvocationContext,
    endpoint: EndpointEntry,
    request: ChatRequest,
    next: StageNext,
  ): Promise<InvocationResult> {
    const session = await this.conversations.prepare(endpoint, request, ctx);
    if (!session) return next();
    ctx.conversationId = session.id;
    const result = await next();
    if (result.kind === 'stream') return { kind: 'stream', chunks: session.track(result.chunks) };
    if (result.kind === 'response') await session.complete(result.response);
    return result;
  }
}
