import { Controller, Get, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import {
  CHAT_REQUEST,
  CHAT_RESPONSE,
  COMPLETIONS_REQUEST,
  COMPLETIONS_RESPONSE,
  EMBEDDINGS_REQUEST,
  EMBEDDINGS_RESPONSE,
  OPENAI_ERROR,
} from 'src/modules/inference/dto/openapi.schemas';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { ModelListService, OpenAIModel, OpenAIModelList } from 'src/modules/inference/model-list.service';
import { InvocationContext, InvocationResult } from 'src/modules/pipeline/invocation-context';
import { InvocationDispatcher } from 'src/modules/pipeline/invocation-dispatcher';
import { Invocation } from 'src/modules/pipeline/invocation.decorator';
import { Ctx } from 'src/modules/pipeline/invocation-param.decorator';

@ApiTags('OpenAI-compatible')
@ApiBearerAuth()
@ApiResponse({ status: 400, description: 'Invalid request', schema: OPENAI_ERROR })
@Controller('v1')
export class OpenAIController {
  constructor(
    private readonly dispatcher: InvocationDispatcher,
    private readonly models: ModelListService,
  ) {}

  @Post('chat/completions')
  @Invocation({ surface: 'openai', op: 'chat', name: 'body-model' })
  @ApiOperation({ summary: 'Chat completion (JSON or Server-Sent Events with stream: true)' })
  @ApiBody({ schema: CHAT_REQUEST })
  @ApiOkResponse({ schema: CHAT_RESPONSE })
  chat(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post('completions')
  @Invocation({ surface: 'openai', op: 'completions', name: 'body-model' })
  @ApiOperation({ summary: 'Text completion' })
  @ApiBody({ schema: COMPLETIONS_REQUEST })
  @ApiOkResponse({ schema: COMPLETIONS_RESPONSE })
  completions(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post('embeddings')
  @Invocation({ surface: 'openai', op: 'embeddings', name: 'body-model' })
  @ApiOperation({ summary: 'Embeddings' })
  @ApiBody({ schema: EMBEDDINGS_REQUEST })
  @ApiOkResponse({ schema: EMBEDDINGS_RESPONSE })
  embeddings(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Get('models')
  @RequirePermission('endpoints.read')
  @ApiOperation({ summary: 'Endpoints and traffic routes, as OpenAI models' })
  list(@Req() request: FastifyRequest): OpenAIModelList {
    return this.models.openAIModels(request.principal);
  }

  @Get('models/:id')
  @RequirePermission('endpoints.read')
  @ApiOperation({
    summary: 'One endpoint or traffic route, as an OpenAI model (404 if unknown or not visible)',
  })
  @ApiResponse({ status: 404, description: 'Unknown model', schema: OPENAI_ERROR })
  retrieve(@Req() request: FastifyRequest, @Param('id') id: string): OpenAIModel {
    return this.models.openAIModel(id, request.principal);
  }
}
