import { Controller, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { InvocationContext, InvocationResult } from 'src/modules/pipeline/invocation-context';
import { InvocationDispatcher } from 'src/modules/pipeline/invocation-dispatcher';
import { Invocation } from 'src/modules/pipeline/invocation.decorator';
import { Ctx } from 'src/modules/pipeline/invocation-param.decorator';

/**
 * OpenAI's Responses API, for apps on OpenAI's SDK (`client.responses.create`): `model` names any chat
 * endpoint or traffic route (whatever provider serves it); answers, streams and errors in OpenAI's
 * formats. Also at MLflow 3's OpenAI passthrough path.
 */
@ApiTags('OpenAI-compatible')
@Controller()
export class ResponsesController {
  constructor(private readonly dispatcher: InvocationDispatcher) {}

  @Post('v1/responses')
  @Invocation({ surface: 'responses', op: 'chat', name: 'body-model' })
  @ApiOperation({ summary: 'OpenAI Responses (JSON, or its event stream with stream: true)' })
  create(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post('gateway/openai/v1/responses')
  @Invocation({ surface: 'responses', op: 'chat', name: 'body-model' })
  @ApiOperation({ summary: "OpenAI Responses at MLflow 3's passthrough path" })
  passthroughCreate(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }
}
