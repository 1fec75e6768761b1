import { Readable } from 'node:stream';
import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { multipartParts } from 'src/common/http/multipart-parts';
import { FilesService } from 'src/modules/batch/files.service';
import { OpenAIFile, OpenAIList } from 'src/modules/batch/dto/openai-objects';
import { OPENAI_ERROR } from 'src/modules/inference/dto/openapi.schemas';

/** OpenAI's Files API, for batch input (and the batches' output and error files). */
@ApiTags('OpenAI-compatible')
@ApiBearerAuth()
@ApiResponse({ status: 400, description: 'Invalid request', schema: OPENAI_ERROR })
@Controller('v1/files')
export class FilesController {
  constructor(private readonly files: FilesService) {}

  @Post()
  @HttpCode(200)
  @RequirePermission('inference.invoke')
  @ApiConsumes('multipart/form-data')
  @ApiOperation({ summary: "Upload a JSONL batch input file (multipart: 'file', 'purpose' = batch)" })
  upload(@Req() request: FastifyRequest): Promise<OpenAIFile> {
    return this.files.upload(request.principal!, multipartParts(request));
  }

  @Get()
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: "Your team's files (purpose, after, limit, order)" })
  list(
    @Req() request: FastifyRequest,
    @Query() query: { purpose?: string; after?: string; limit?: string; order?: string },
  ): Promise<OpenAIList<OpenAIFile>> {
    return this.files.list(request.principal!, query);
  }

  @Get(':id')
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: 'One file (404 for unknown ids and other teams’ files)' })
  get(@Req() request: FastifyRequest, @Param('id') id: string): Promise<OpenAIFile> {
    return this.files.get(request.principal!, id);
  }

  @Delete(':id')
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: 'Delete a file' })
  remove(
    @Req() request: FastifyRequest,
    @Param('id') id: string,
  ): Promise<{ id: string; object: 'file'; deleted: boolean }> {
    return this.files.remove(request.principal!, id);
  }

  @Get(':id/content')
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: "A file's content (JSONL), streamed" })
  async content(
    @Req() request: FastifyRequest,
    @Param('id') id: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const chunks = await this.files.content(request.principal!, id);
    await reply.header('content-type', 'application/jsonl; charset=utf-8').send(Readable.from(chunks));
  }
}
