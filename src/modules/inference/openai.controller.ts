import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
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
import { InferenceService } from 'src/modules/inference/inference.service';
import { ModelListService, OpenAIModelList } from 'src/modules/inference/model-list.service';

type Body = Record<string, unknown>;
const model = (body: Body) => (typeof body.model === 'string' ? body.model : undefined);

@ApiTags('OpenAI-compatible')
@ApiBearerAuth()
@ApiResponse({ status: 400, description: 'Invalid request', schema: OPENAI_ERROR })
@Controller('v1')
export class OpenAIController {
  constructor(
    private readonly inference: InferenceService,
    private readonly models: ModelListService,
  ) {}

  @Post('chat/completions')
  @RequirePermission('inference.invoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Chat completion (JSON or Server-Sent Events with stream: true)' })
  @ApiBody({ schema: CHAT_REQUEST })
  @ApiOkResponse({ schema: CHAT_RESPONSE })
  chat(@Body() body: Body, @Res() reply: FastifyReply): Promise<void> {
    return this.inference.invoke({ surface: 'openai', op: 'chat', name: model(body), body }, reply);
  }

  @Post('completions')
  @RequirePermission('inference.invoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Text completion' })
  @ApiBody({ schema: COMPLETIONS_REQUEST })
  @ApiOkResponse({ schema: COMPLETIONS_RESPONSE })
  completions(@Body() body: Body, @Res() reply: FastifyReply): Promise<void> {
    return this.inference.invoke({ surface: 'openai', op: 'completions', name: model(body), body }, reply);
  }

  @Post('embeddings')
  @RequirePermission('inference.invoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Embeddings' })
  @ApiBody({ schema: EMBEDDINGS_REQUEST })
  @ApiOkResponse({ schema: EMBEDDINGS_RESPONSE })
  embeddings(@Body() body: Body, @Res() reply: FastifyReply): Promise<void> {
    return this.inference.invoke({ surface: 'openai', op: 'embeddings', name: model(body), body }, reply);
  }

  @Get('models')
  @RequirePermission('endpoints.read')
  @ApiOperation({ summary: 'Endpoints and traffic routes, as OpenAI models' })
  list(@Req() request: FastifyRequest): OpenAIModelList {
    return this.models.openAIModels(request.principal);
  }
}
