import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { ZodPipe } from 'src/common/validation/zod.pipe';
import { BatchesService, CreateBatchDto, CreateBatchSchema } from 'src/modules/batch/batches.service';
import { OpenAIBatch, OpenAIList } from 'src/modules/batch/dto/openai-objects';
import { OPENAI_ERROR } from 'src/modules/inference/dto/openapi.schemas';

/** OpenAI's Batch API: batches of requests run by the gateway's job runner through the pipeline. */
@ApiTags('OpenAI-compatible')
@ApiBearerAuth()
@ApiResponse({ status: 400, description: 'Invalid request', schema: OPENAI_ERROR })
@Controller('v1/batches')
export class BatchesController {
  constructor(private readonly batches: BatchesService) {}

  @Post()
  @HttpCode(200)
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: 'Create a batch from an uploaded input file' })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['input_file_id', 'endpoint', 'completion_window'],
      properties: {
        input_file_id: { type: 'string' },
        endpoint: { type: 'string', enum: ['/v1/chat/completions', '/v1/embeddings', '/v1/completions'] },
        completion_window: { type: 'string', enum: ['24h'] },
        metadata: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
  })
  create(
    @Req() request: FastifyRequest,
    @Body(new ZodPipe(CreateBatchSchema)) body: CreateBatchDto,
  ): Promise<OpenAIBatch> {
    return this.batches.create(request.principal!, body);
  }

  @Get()
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: "Your team's batches, newest first (after, limit)" })
  list(
    @Req() request: FastifyRequest,
    @Query() query: { after?: string; limit?: string },
  ): Promise<OpenAIList<OpenAIBatch>> {
    return this.batches.list(request.principal!, query);
  }

  @Get(':id')
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: 'One batch, with its status and request_counts' })
  get(@Req() request: FastifyRequest, @Param('id') id: string): Promise<OpenAIBatch> {
    return this.batches.get(request.principal!, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: 'Cancel a batch (cancelling, then cancelled once lines in flight finish)' })
  cancel(@Req() request: FastifyRequest, @Param('id') id: string): Promise<OpenAIBatch> {
    return this.batches.cancel(request.principal!, id);
  }
}
