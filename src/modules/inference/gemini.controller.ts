import { Controller, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  GEMINI_ERROR,
  GEMINI_GENERATE_CONTENT_REQUEST,
  GEMINI_GENERATE_CONTENT_RESPONSE,
} from 'src/modules/inference/dto/openapi.schemas';
import { InvocationContext, InvocationResult } from 'src/modules/pipeline/invocation-context';
import { InvocationDispatcher } from 'src/modules/pipeline/invocation-dispatcher';
import { Invocation } from 'src/modules/pipeline/invocation.decorator';
import { Ctx } from 'src/modules/pipeline/invocation-param.decorator';

/*
 * Fastify reads `::` as a literal colon; the name's pattern stops at the colon so that the two methods
 * are two routes (find-my-way would otherwise take `name:generateContent` as one parameter).
 */
const MODEL = ':name(^[^:/]+)';

/**
 * Gemini's generateContent API, for apps on Google's SDKs: the path names any chat endpoint or traffic
 * route (whatever provider serves it); answers, streams (`?alt=sse`, or Google's streamed JSON array)
 * and errors in Google's formats. Also at MLflow 3's Gemini passthrough path.
 */
@ApiTags('Gemini-compatible')
@ApiResponse({ status: 400, description: 'Invalid request', schema: GEMINI_ERROR })
@Controller()
export class GeminiController {
  constructor(private readonly dispatcher: InvocationDispatcher) {}

  @Post(`v1beta/models/${MODEL}::generateContent`)
  @Invocation({ surface: 'gemini', op: 'chat', name: 'param' })
  @ApiOperation({ summary: 'Gemini generateContent' })
  @ApiBody({ schema: GEMINI_GENERATE_CONTENT_REQUEST })
  @ApiOkResponse({ schema: GEMINI_GENERATE_CONTENT_RESPONSE })
  generateContent(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post(`v1beta/models/${MODEL}::streamGenerateContent`)
  @Invocation({ surface: 'gemini', op: 'chat', name: 'param', stream: true })
  @ApiOperation({ summary: 'Gemini streamGenerateContent (SSE with ?alt=sse, else a streamed JSON array)' })
  @ApiQuery({ name: 'alt', required: false, enum: ['sse'] })
  @ApiBody({ schema: GEMINI_GENERATE_CONTENT_REQUEST })
  @ApiOkResponse({ schema: GEMINI_GENERATE_CONTENT_RESPONSE })
  streamGenerateContent(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post(`gateway/gemini/v1beta/models/${MODEL}::generateContent`)
  @Invocation({ surface: 'gemini', op: 'chat', name: 'param' })
  @ApiOperation({ summary: "Gemini generateContent at MLflow 3's passthrough path" })
  @ApiBody({ schema: GEMINI_GENERATE_CONTENT_REQUEST })
  @ApiOkResponse({ schema: GEMINI_GENERATE_CONTENT_RESPONSE })
  passthroughGenerateContent(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }

  @Post(`gateway/gemini/v1beta/models/${MODEL}::streamGenerateContent`)
  @Invocation({ surface: 'gemini', op: 'chat', name: 'param', stream: true })
  @ApiOperation({ summary: "Gemini streamGenerateContent at MLflow 3's passthrough path" })
  @ApiQuery({ name: 'alt', required: false, enum: ['sse'] })
  @ApiBody({ schema: GEMINI_GENERATE_CONTENT_REQUEST })
  @ApiOkResponse({ schema: GEMINI_GENERATE_CONTENT_RESPONSE })
  passthroughStreamGenerateContent(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }
}
