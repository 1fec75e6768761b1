import { Controller, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InvocationContext, InvocationResult } from 'src/modules/pipeline/invocation-context';
import { InvocationDispatcher } from 'src/modules/pipeline/invocation-dispatcher';
import { Invocation } from 'src/modules/pipeline/invocation.decorator';
import { Ctx } from 'src/modules/pipeline/invocation-param.decorator';

@ApiTags('RAG')
@Controller('ask')
export class AskController {
  constructor(private readonly dispatcher: InvocationDispatcher) {}

  /**
   * A question to a chat endpoint: `{question, stream?, max_tokens?, …}` → a chat completion; a RAG
   * endpoint retrieves first and adds `citations`.
   */
  @Post(':name')
  @Invocation({ surface: 'openai', op: 'chat', name: 'param', ask: true })
  @ApiOperation({
    summary:
      'Ask a chat endpoint a question; a RAG endpoint retrieves, renders its template and cites its passages',
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['question'],
      properties: {
        question: { type: 'string' },
        stream: { type: 'boolean' },
        max_tokens: { type: 'integer' },
      },
    },
  })
  ask(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }
}
