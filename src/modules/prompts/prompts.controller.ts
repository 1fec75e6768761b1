import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { principalOf } from 'src/common/auth/principal';
import {
  PromptDiffDto,
  PromptRenderDto,
  PromptTemplateDto,
  PromptTemplateSummaryDto,
  PromptVersionDto,
  TEMPLATE_WRITE_SCHEMA,
} from 'src/modules/prompts/dto/prompt-response.dto';
import { PromptAdminService } from 'src/modules/prompts/prompt-admin.service';

@ApiTags('Admin: prompts')
@Controller('admin/v1/prompts')
export class PromptsController {
  constructor(private readonly prompts: PromptAdminService) {}

  @Get()
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'List prompt templates with their latest version and labels' })
  list(): PromptTemplateSummaryDto[] {
    return this.prompts.list();
  }

  @Post()
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Create a template (its version 1)' })
  @ApiBody({ schema: TEMPLATE_WRITE_SCHEMA })
  create(@Body() body: unknown, @Req() request: FastifyRequest): Promise<PromptTemplateDto> {
    return this.prompts.create(body, principalOf(request));
  }

  @Get(':name')
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'A template with its versions and labels' })
  get(@Param('name') name: string): PromptTemplateDto {
    return this.prompts.get(name);
  }

  @Delete(':name')
  @HttpCode(204)
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Delete a template with all its versions and labels' })
  delete(@Param('name') name: string): Promise<void> {
    return this.prompts.delete(name);
  }

  @Post(':name/versions')
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Add the next immutable version (optionally moving labels to it)' })
  @ApiBody({ schema: TEMPLATE_WRITE_SCHEMA })
  addVersion(
    @Param('name') name: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ): Promise<PromptVersionDto> {
    return this.prompts.addVersion(name, body, principalOf(request));
  }

  @Get(':name/versions/:version')
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'One version of a template' })
  version(@Param('name') name: string, @Param('version') version: string): PromptVersionDto {
    return this.prompts.version(name, version);
  }

  @Put(':name/labels/:label')
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Point a label (production, staging, …) at a version' })
  @ApiBody({ schema: { type: 'object', properties: { version: { type: 'integer' } } } })
  moveLabel(
    @Param('name') name: string,
    @Param('label') label: string,
    @Body() body: unknown,
  ): Promise<PromptTemplateDto> {
    return this.prompts.moveLabel(name, label, body);
  }

  @Delete(':name/labels/:label')
  @HttpCode(204)
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Remove a label' })
  deleteLabel(@Param('name') name: string, @Param('label') label: string): Promise<void> {
    return this.prompts.deleteLabel(name, label);
  }

  @Get(':name/diff')
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'Differences between two versions (default: the latest and the one before)' })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  diff(
    @Param('name') name: string,
    @Query('from') from: string | undefined,
    @Query('to') to: string | undefined,
  ): PromptDiffDto {
    return this.prompts.diff(name, from, to);
  }

  @Post(':name/render')
  @HttpCode(200)
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'Dry run: render a version with variables, without calling a model' })
  @ApiBody({
    schema: {
      type: 'object',
      properties: { version: { type: 'integer' }, label: { type: 'string' }, variables: { type: 'object' } },
    },
  })
  render(@Param('name') name: string, @Body() body: unknown): PromptRenderDto {
    return this.prompts.render(name, body);
  }
}
