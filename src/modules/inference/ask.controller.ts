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

  /** A RAG endpoint at its own path: `{question, stream?, max_tokens?, …}` → a chat completion with `citations`. */
  @Post(':name')
  @Invocation({ surface: 'openai', op: 'chat', name: 'param' })
  @ApiOperation({
    summary: 'Ask a RAG endpoint: retrieval, its prompt template, its LLM; answer with citations',
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
