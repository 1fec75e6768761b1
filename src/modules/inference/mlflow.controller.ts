import { Controller, Get, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import {
  CHAT_REQUEST,
  CHAT_RESPONSE,
  EMBEDDINGS_REQUEST,
  EMBEDDINGS_RESPONSE,
  INVOCATION_REQUEST,
  MLFLOW_ENDPOINT,
  MLFLOW_ERROR,
} from 'src/modules/inference/dto/openapi.schemas';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import {
  MlflowEndpoint,
  MlflowEndpointPage,
  MlflowTrafficRoute,
  ModelListService,
} from 'src/modules/inference/model-list.service';
import { InvocationContext, InvocationResult } from 'src/modules/pipeline/invocation-context';
import { InvocationDispatcher } from 'src/modules/pipeline/invocation-dispatcher';
import { Invocation } from 'src/modules/pipeline/invocation.decorator';
import { Ctx } from 'src/modules/pipeline/invocation-param.decorator';

/** The MLflow AI Gateway REST surface, so `mlflow.deployments.get_deploy_client(url)` works unchanged. */
@ApiTags('MLflow-compatible')
@ApiBearerAuth()
@ApiResponse({ status: 404, description: 'Unknown endpoint', schema: MLFLOW_ERROR })
@Controller()
export class MlflowController {
  constructor(
    private readonly dispatcher: InvocationDispatcher,
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

  @Get('api/3.0/gateway/endpoint/:name')
  @RequirePermission('endpoints.read')
  @ApiOperation({ summary: "One endpoint at MLflow gateway's 3.0 path" })
  @ApiOkResponse({ schema: MLFLOW_ENDPOINT })
  getV3(@Req() request: FastifyRequest, @Param('name') name: string): MlflowEndpoint {
    return this.models.mlflowEndpoint(name, request.principal);
  }

  @Get('api/3.0/gateway/route/:name')
  @RequirePermission('endpoints.read')
  @ApiOperation({ summary: "One traffic route (destinations and percentages) at MLflow gateway's 3.0 path" })
  route(@Req() request: FastifyRequest, @Param('name') name: string): MlflowTrafficRoute {
    return this.models.mlflowRoute(name, request.principal);
  }

  @Post('endpoints/:name/invocations')
  @Invocation({ surface: 'mlflow', name: 'param' })
  @ApiOperation({ summary: 'Query an endpoint or traffic route (MLflow deployments client: predict)' })
  @ApiBody({ schema: INVOCATION_REQUEST })
  invocations(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post('gateway/:name/invocations')
  @Invocation({ surface: 'mlflow', name: 'param' })
  @ApiOperation({ summary: "Query an endpoint or traffic route (the endpoint's endpoint_url)" })
  @ApiBody({ schema: INVOCATION_REQUEST })
  gatewayInvocations(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post('gateway/mlflow/v1/chat/completions')
  @Invocation({ surface: 'mlflow-v3', op: 'chat', name: 'body-model' })
  @ApiOperation({
    summary: 'OpenAI chat for MLflow 3.x clients (judges, MLFLOW_GATEWAY_URI); model = endpoint name',
  })
  @ApiBody({ schema: CHAT_REQUEST })
  @ApiOkResponse({ schema: CHAT_RESPONSE })
  mlflowChat(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post('gateway/openai/v1/chat/completions')
  @Invocation({ surface: 'openai', op: 'chat', name: 'body-model' })
  @ApiOperation({
    summary: "OpenAI chat at MLflow 3's OpenAI passthrough path (same as /v1/chat/completions)",
  })
  @ApiBody({ schema: CHAT_REQUEST })
  @ApiOkResponse({ schema: CHAT_RESPONSE })
  openaiPassthroughChat(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post('gateway/openai/v1/embeddings')
  @Invocation({ surface: 'openai', op: 'embeddings', name: 'body-model' })
  @ApiOperation({
    summary: "OpenAI embeddings at MLflow 3's OpenAI passthrough path (same as /v1/embeddings)",
  })
  @ApiBody({ schema: EMBEDDINGS_REQUEST })
  @ApiOkResponse({ schema: EMBEDDINGS_RESPONSE })
  openaiPassthroughEmbeddings(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post('gateway/:name/mlflow/invocations')
  @Invocation({ surface: 'mlflow-v3', name: 'param', opFromBody: true })
  @ApiOperation({ summary: 'MLflow 3.x unified invocation: `messages` → chat, `input` → embeddings' })
  @ApiBody({ schema: INVOCATION_REQUEST })
  unified(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }
}
