import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { schemaOf } from 'src/common/validation/openapi-schema';
import { actorOf } from 'src/modules/auth/actor';
import {
  CHANGE_VIEW,
  ConfigChangeDto,
  ConfigEntryDto,
  ConfigHistoryDto,
  DryRunPipe,
  ENTRY_VIEW,
  HISTORY_VIEW,
  RollbackSchema,
} from 'src/modules/routing/admin/routing-admin.dto';
import { RoutingAdminService } from 'src/modules/routing/admin/routing-admin.service';

const ENTRY_BODY = {
  type: 'object',
  additionalProperties: true,
  description: 'One gateway.yaml entry as JSON; secrets only as $ENV_VAR or $secret:NAME references.',
};
const DRY_RUN = {
  name: 'dry_run',
  required: false,
  type: Boolean,
  description: 'Validate the change against the whole config without applying it',
};

@ApiTags('Admin: routing config')
@ApiBearerAuth()
@Controller('admin/v1/endpoints')
export class EndpointsAdminController {
  constructor(private readonly admin: RoutingAdminService) {}

  @Get()
  @RequirePermission('routing.read')
  @ApiOperation({ summary: 'Every endpoint: from gateway.yaml (read-only) and managed through this API' })
  @ApiOkResponse({ schema: { type: 'array', items: ENTRY_VIEW } })
  list(@Req() request: FastifyRequest): Promise<ConfigEntryDto[]> {
    return this.admin.list('endpoint', actorOf(request));
  }

  @Post()
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Create an endpoint (same shape as a gateway.yaml endpoints[] entry)' })
  @ApiQuery(DRY_RUN)
  @ApiBody({ schema: ENTRY_BODY })
  @ApiOkResponse({ schema: CHANGE_VIEW })
  create(
    @Req() request: FastifyRequest,
    @Body() body: unknown,
    @Query('dry_run', new DryRunPipe()) dryRun: boolean,
  ): Promise<ConfigChangeDto> {
    return this.admin.create('endpoint', body, request, dryRun);
  }

  @Get(':name')
  @RequirePermission('routing.read')
  @ApiOperation({ summary: 'One endpoint' })
  @ApiOkResponse({ schema: ENTRY_VIEW })
  get(@Req() request: FastifyRequest, @Param('name') name: string): Promise<ConfigEntryDto> {
    return this.admin.get('endpoint', name, actorOf(request));
  }

  @Put(':name')
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Create or replace an API-managed endpoint' })
  @ApiQuery(DRY_RUN)
  @ApiBody({ schema: ENTRY_BODY })
  @ApiOkResponse({ schema: CHANGE_VIEW })
  replace(
    @Req() request: FastifyRequest,
    @Param('name') name: string,
    @Body() body: unknown,
    @Query('dry_run', new DryRunPipe()) dryRun: boolean,
  ): Promise<ConfigChangeDto> {
    return this.admin.replace('endpoint', name, body, request, dryRun);
  }

  @Delete(':name')
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Delete an API-managed endpoint (a revision; restorable by rollback)' })
  @ApiQuery(DRY_RUN)
  @ApiOkResponse({ schema: CHANGE_VIEW })
  remove(
    @Req() request: FastifyRequest,
    @Param('name') name: string,
    @Query('dry_run', new DryRunPipe()) dryRun: boolean,
  ): Promise<ConfigChangeDto> {
    return this.admin.remove('endpoint', name, request, dryRun);
  }

  @Get(':name/revisions')
  @RequirePermission('routing.read')
  @ApiOperation({ summary: "An endpoint's numbered revisions, newest first (who, when, before/after)" })
  @ApiOkResponse({ schema: HISTORY_VIEW })
  revisions(@Req() request: FastifyRequest, @Param('name') name: string): Promise<ConfigHistoryDto> {
    return this.admin.history('endpoint', name, actorOf(request));
  }

  @Post(':name/rollback')
  @HttpCode(200)
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Restore a revision of an endpoint (itself a new revision)' })
  @ApiQuery(DRY_RUN)
  @ApiBody({ schema: schemaOf(RollbackSchema) })
  @ApiOkResponse({ schema: CHANGE_VIEW })
  rollback(
    @Req() request: FastifyRequest,
    @Param('name') name: string,
    @Body() body: unknown,
    @Query('dry_run', new DryRunPipe()) dryRun: boolean,
  ): Promise<ConfigChangeDto> {
    return this.admin.rollback('endpoint', name, body, request, dryRun);
  }
}

@ApiTags('Admin: routing config')
@ApiBearerAuth()
@Controller('admin/v1/routes')
export class RoutesAdminController {
  constructor(private readonly admin: RoutingAdminService) {}

  @Get()
  @RequirePermission('routing.read')
  @ApiOperation({
    summary: 'Every traffic route: from gateway.yaml (read-only) and managed through this API',
  })
  @ApiOkResponse({ schema: { type: 'array', items: ENTRY_VIEW } })
  list(@Req() request: FastifyRequest): Promise<ConfigEntryDto[]> {
    return this.admin.list('route', actorOf(request));
  }

  @Post()
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Create a traffic route (same shape as a gateway.yaml routes[] entry)' })
  @ApiQuery(DRY_RUN)
  @ApiBody({ schema: ENTRY_BODY })
  @ApiOkResponse({ schema: CHANGE_VIEW })
  create(
    @Req() request: FastifyRequest,
    @Body() body: unknown,
    @Query('dry_run', new DryRunPipe()) dryRun: boolean,
  ): Promise<ConfigChangeDto> {
    return this.admin.create('route', body, request, dryRun);
  }

  @Get(':name')
  @RequirePermission('routing.read')
  @ApiOperation({ summary: 'One traffic route' })
  @ApiOkResponse({ schema: ENTRY_VIEW })
  get(@Req() request: FastifyRequest, @Param('name') name: string): Promise<ConfigEntryDto> {
    return this.admin.get('route', name, actorOf(request));
  }

  @Put(':name')
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Create or replace an API-managed traffic route (e.g. new weights)' })
  @ApiQuery(DRY_RUN)
  @ApiBody({ schema: ENTRY_BODY })
  @ApiOkResponse({ schema: CHANGE_VIEW })
  replace(
    @Req() request: FastifyRequest,
    @Param('name') name: string,
    @Body() body: unknown,
    @Query('dry_run', new DryRunPipe()) dryRun: boolean,
  ): Promise<ConfigChangeDto> {
    return this.admin.replace('route', name, body, request, dryRun);
  }

  @Delete(':name')
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Delete an API-managed traffic route (a revision; restorable by rollback)' })
  @ApiQuery(DRY_RUN)
  @ApiOkResponse({ schema: CHANGE_VIEW })
  remove(
    @Req() request: FastifyRequest,
    @Param('name') name: string,
    @Query('dry_run', new DryRunPipe()) dryRun: boolean,
  ): Promise<ConfigChangeDto> {
    return this.admin.remove('route', name, request, dryRun);
  }

  @Get(':name/revisions')
  @RequirePermission('routing.read')
  @ApiOperation({ summary: "A route's numbered revisions, newest first (who, when, before/after)" })
  @ApiOkResponse({ schema: HISTORY_VIEW })
  revisions(@Req() request: FastifyRequest, @Param('name') name: string): Promise<ConfigHistoryDto> {
    return this.admin.history('route', name, actorOf(request));
  }

  @Post(':name/rollback')
  @HttpCode(200)
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Restore a revision of a route (itself a new revision)' })
  @ApiQuery(DRY_RUN)
  @ApiBody({ schema: schemaOf(RollbackSchema) })
  @ApiOkResponse({ schema: CHANGE_VIEW })
  rollback(
    @Req() request: FastifyRequest,
    @Param('name') name: string,
    @Body() body: unknown,
    @Query('dry_run', new DryRunPipe()) dryRun: boolean,
  ): Promise<ConfigChangeDto> {
    return this.admin.rollback('route', name, body, request, dryRun);
  }
}
