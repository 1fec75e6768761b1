import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import {
  CHAT_REQUEST,
  CHAT_RESPONSE,
  INVOCATION_REQUEST,
  MLFLOW_ENDPOINT,
  MLFLOW_ERROR,
} from 'src/modules/inference/dto/openapi.schemas';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { InferenceService } from 'src/modules/inference/inference.service';
import {
  MlflowEndpoint,
  MlflowEndpointPage,
  ModelListService,
} from 'src/modules/inference/model-list.service';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

type Body = Record<string, unknown>;

/** The MLflow AI Gateway REST surface, so `mlflow.deployments.get_deploy_client(url)` works unchanged. */
@ApiTags('MLflow-compatible')
@ApiBearerAuth()
@ApiResponse({ status: 404, description: 'Unknown endpoint', schema: MLFLOW_ERROR })
@Controller()
export class MlflowController {
  constructor(
    private readonly inference: InferenceService,
    private readonly models: ModelListService,
  ) {}

  @Get('api/2.0/endpoints')
  @RequirePermission('endpoints.read')
  @ApiOperation({ summary: 'List endpoints (MLflow deployments client: list_endpoints)' })
  @ApiQuery({ name: 'page_token', required: false })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: {
        endpoints: { type: 'array', items: MLFLOW_ENDPOINT },
        next_page_token: { type: 'string' },
      },
    },
  })
  list(@Req() request: FastifyRequest, @Query('page_token') pageToken?: string): MlflowEndpointPage {
    return this.models.mlflowEndpoints(pageToken, request.principal);
  }

  @Get('api/2.0/endpoints/:name')
  @RequirePermission('endpoints.read')
  @ApiOperation({ summary: 'Get one endpoint (MLflow deployments client: get_endpoint)' })
  @ApiOkResponse({ schema: MLFLOW_ENDPOINT })
  get(@Req() request: FastifyRequest, @Param('name') name: string): MlflowEndpoint {
    return this.models.mlflowEndpoint(name, request.principal);
  }

  @Post('endpoints/:name/invocations')
  @RequirePermission('inference.invoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Query an endpoint or traffic route (MLflow deployments client: predict)' })
  @ApiBody({ schema: INVOCATION_REQUEST })
  invocations(@Param('name') name: string, @Body() body: Body, @Res() reply: FastifyReply): Promise<void> {
    return this.inference.invoke({ surface: 'mlflow', op: undefined, name, body }, reply);
  }

  @Post('gateway/:name/invocations')
  @RequirePermission('inference.invoke')
  @HttpCode(200)
  @ApiOperation({ summary: "Query an endpoint or traffic route (the endpoint's endpoint_url)" })
  @ApiBody({ schema: INVOCATION_REQUEST })
  gatewayInvocations(
    @Param('name') name: string,
    @Body() body: Body,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.inference.invoke({ surface: 'mlflow', op: undefined, name, body }, reply);
  }

  @Post('gateway/mlflow/v1/chat/completions')
  @RequirePermission('inference.invoke')
  @HttpCode(200)
  @ApiOperation({
    summary: 'OpenAI chat for MLflow 3.x clients (judges, MLFLOW_GATEWAY_URI); model = endpoint name',
  })
  @ApiBody({ schema: CHAT_REQUEST })
  @ApiOkResponse({ schema: CHAT_RESPONSE })
  mlflowChat(@Body() body: Body, @Res() reply: FastifyReply): Promise<void> {
    const name = typeof body.model === 'string' ? body.model : undefined;
    return this.inference.invoke({ surface: 'mlflow-v3', op: 'chat', name, body }, reply);
  }

  @Post('gateway/:name/mlflow/invocations')
  @RequirePermission('inference.invoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'MLflow 3.x unified invocation: `messages` → chat, `input` → embeddings' })
  @ApiBody({ schema: INVOCATION_REQUEST })
  unified(@Param('name') name: string, @Body() body: Body, @Res() reply: FastifyReply): Promise<void> {
    const op = 'messages' in body ? 'chat' : 'input' in body ? 'embeddings' : undefined;
    if (!op) {
      throw new GatewayException(
        400,
        GatewayErrorCode.InvalidRequest,
        'Invalid request: payload format must be either chat or embeddings',
      );
    }
    return this.inference.invoke({ surface: 'mlflow-v3', op, name, body }, reply);
  }
}
