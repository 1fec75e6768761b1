import { Controller, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InvocationContext, InvocationResult } from 'src/modules/pipeline/invocation-context';
import { InvocationDispatcher } from 'src/modules/pipeline/invocation-dispatcher';
import { Invocation } from 'src/modules/pipeline/invocation.decorator';
import { Ctx } from 'src/modules/pipeline/invocation-param.decorator';

/** Published prompt APIs: the body holds the template variables; the answer is clean JSON. */
@ApiTags('Prompt APIs')
@Controller('apis')
export class PromptApisController {
  constructor(private readonly dispatcher: InvocationDispatcher) {}

  @Post(':name')
  @Invocation({ surface: 'api', name: 'prompt-api' })
  @ApiOperation({
    summary: 'Call a published prompt API: the body holds the template variables',
    description: 'Each published API is also listed under its own path, with its own schemas.',
  })
  @ApiBody({ schema: { type: 'object', additionalProperties: true } })
  invoke(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }
}
