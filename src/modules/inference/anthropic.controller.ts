import { Controller, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  ANTHROPIC_COUNT_TOKENS_RESPONSE,
  ANTHROPIC_ERROR,
  ANTHROPIC_MESSAGE,
  ANTHROPIC_MESSAGES_REQUEST,
} from 'src/modules/inference/dto/openapi.schemas';
import { InvocationContext, InvocationResult } from 'src/modules/pipeline/invocation-context';
import { InvocationDispatcher } from 'src/modules/pipeline/invocation-dispatcher';
import { Invocation } from 'src/modules/pipeline/invocation.decorator';
import { Ctx } from 'src/modules/pipeline/invocation-param.decorator';

/**
 * Anthropic's Messages API, for apps on Anthropic's SDK: `model` names any chat endpoint or traffic
 * route (whatever provider serves it); answers, streams and errors in Anthropic's own formats. Also at
 * MLflow 3's Anthropic passthrough path.
 */
@ApiTags('Anthropic-compatible')
@ApiResponse({ status: 400, description: 'Invalid request', schema: ANTHROPIC_ERROR })
@Controller()
export class AnthropicController {
  constructor(private readonly dispatcher: InvocationDispatcher) {}

  @Post('v1/messages')
  @Invocation({ surface: 'anthropic', op: 'chat', name: 'body-model' })
  @ApiOperation({ summary: 'Anthropic Messages (JSON, or its event stream with stream: true)' })
  @ApiBody({ schema: ANTHROPIC_MESSAGES_REQUEST })
  @ApiOkResponse({ schema: ANTHROPIC_MESSAGE })
  messages(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post('gateway/anthropic/v1/messages')
  @Invocation({ surface: 'anthropic', op: 'chat', name: 'body-model' })
  @ApiOperation({ summary: "Anthropic Messages at MLflow 3's passthrough path" })
  @ApiBody({ schema: ANTHROPIC_MESSAGES_REQUEST })
  @ApiOkResponse({ schema: ANTHROPIC_MESSAGE })
  passthroughMessages(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post('v1/messages/count_tokens')
  @Invocation({ surface: 'anthropic', op: 'chat', name: 'body-model', answer: 'token-count' })
  @ApiOperation({
    summary: "Count a Messages request's input tokens (the gateway's estimate; no upstream call)",
  })
  @ApiBody({ schema: ANTHROPIC_MESSAGES_REQUEST })
  @ApiOkResponse({ schema: ANTHROPIC_COUNT_TOKENS_RESPONSE })
  countTokens(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }
}
