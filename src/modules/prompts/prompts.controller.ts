import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { Actor, AdminActor } from 'src/common/auth/admin-actor';
import { actorOf } from 'src/modules/auth/actor';
import {
  DIFF_VIEW,
  PromptDiffDto,
  PromptRenderDto,
  PromptTemplateDto,
  PromptTemplateSummaryDto,
  PromptVersionDto,
  RENDER_VIEW,
  TEMPLATE_SUMMARY_VIEW,
  TEMPLATE_VIEW,
  TEMPLATE_WRITE_SCHEMA,
  VERSION_VIEW,
} from 'src/modules/prompts/dto/prompt-response.dto';
import { PromptAdminService } from 'src/modules/prompts/prompt-admin.service';

@ApiTags('Admin: prompts')
@Controller('admin/v1/prompts')
export class PromptsController {
  constructor(private readonly prompts: PromptAdminService) {}

  @Get()
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'List prompt templates with their latest version and labels' })
  @ApiOkResponse({ schema: { type: 'array', items: TEMPLATE_SUMMARY_VIEW } })
  list(@Req() request: FastifyRequest): PromptTemplateSummaryDto[] {
    return this.prompts.list(actorOf(request));
  }

  @Post()
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Create a template (its version 1)' })
  @ApiBody({ schema: TEMPLATE_WRITE_SCHEMA })
  @ApiCreatedResponse({ schema: TEMPLATE_VIEW })
  create(@Body() body: unknown, @Actor() actor: AdminActor): Promise<PromptTemplateDto> {
    return this.prompts.create(body, actor);
  }

  @Get(':name')
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'A template with its versions and labels' })
  @ApiOkResponse({ schema: TEMPLATE_VIEW })
  get(@Req() request: FastifyRequest, @Param('name') name: string): PromptTemplateDto {
    return this.prompts.get(name, actorOf(request));
  }

  @Delete(':name')
  @HttpCode(204)
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Delete a template with all its versions and labels' })
  delete(@Actor() actor: AdminActor, @Param('name') name: string): Promise<void> {
    return this.prompts.delete(name, actor);
  }

  @Post(':name/versions')
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Add the next immutable version (optionally moving labels to it)' })
  @ApiBody({ schema: TEMPLATE_WRITE_SCHEMA })
  @ApiCreatedResponse({ schema: VERSION_VIEW })
  addVersion(
    @Param('name') name: string,
    @Body() body: unknown,
    @Actor() actor: AdminActor,
  ): Promise<PromptVersionDto> {
    return this.prompts.addVersion(name, body, actor);
  }

  @Get(':name/versions/:version')
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'One version of a template' })
  @ApiOkResponse({ schema: VERSION_VIEW })
  version(
    @Req() request: FastifyRequest,
    @Param('name') name: string,
    @Param('version') version: string,
  ): PromptVersionDto {
    return this.prompts.version(name, version, actorOf(request));
  }

  @Put(':name/labels/:label')
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Point a label (production, staging, …) at a version' })
  @ApiBody({ schema: { type: 'object', properties: { version: { type: 'integer' } } } })
  @ApiOkResponse({ schema: TEMPLATE_VIEW })
  moveLabel(
    @Actor() actor: AdminActor,
    @Param('name') name: string,
    @Param('label') label: string,
    @Body() body: unknown,
  ): Promise<PromptTemplateDto> {
    return this.prompts.moveLabel(name, label, body, actor);
  }

  @Delete(':name/labels/:label')
  @HttpCode(204)
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Remove a label' })
  deleteLabel(
    @Actor() actor: AdminActor,
    @Param('name') name: string,
    @Param('label') label: string,
  ): Promise<void> {
    return this.prompts.deleteLabel(name, label, actor);
  }

  @Get(':name/diff')
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'Differences between two versions (default: the latest and the one before)' })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  @ApiOkResponse({ schema: DIFF_VIEW })
  diff(
    @Req() request: FastifyRequest,
    @Param('name') name: string,
    @Query('from') from: string | undefined,
    @Query('to') to: string | undefined,
  ): PromptDiffDto {
    return this.prompts.diff(name, from, to, actorOf(request));
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
  @ApiOkResponse({ schema: RENDER_VIEW })
  render(
    @Req() request: FastifyRequest,
    @Param('name') name: string,
    @Body() body: unknown,
  ): PromptRenderDto {
    return this.prompts.render(name, body, actorOf(request));
  }
}
