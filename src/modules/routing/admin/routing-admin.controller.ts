import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req, Type } from '@nestjs/common';
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
import { ConfigKind } from 'src/modules/routing/admin/config-entries';
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

/** What differs between the endpoints and the routes resources: the kind, the path and the words. */
interface ConfigResource {
  kind: ConfigKind;
  path: string;
  summaries: Record<'list' | 'create' | 'get' | 'replace' | 'remove' | 'revisions' | 'rollback', string>;
}

/**
 * The admin resource of one config kind: list, create, read, replace, delete, revisions and rollback,
 * each a thin call into RoutingAdminService. Both kinds are the same resource with other words, so one
 * class is written and each kind extends it (the subclass's name keeps Swagger's operation ids apart).
 */
function configResourceController({ kind, path, summaries }: ConfigResource): Type<object> {
  @ApiTags('Admin: routing config')
  @ApiBearerAuth()
  @Controller(path)
  class ConfigResourceController {
    constructor(readonly admin: RoutingAdminService) {}

    @Get()
    @RequirePermission('routing.read')
    @ApiOperation({ summary: summaries.list })
    @ApiOkResponse({ schema: { type: 'array', items: ENTRY_VIEW } })
    list(@Req() request: FastifyRequest): Promise<ConfigEntryDto[]> {
      return this.admin.list(kind, actorOf(request));
    }

    @Post()
    @RequirePermission('routing.write')
    @ApiOperation({ summary: summaries.create })
    @ApiQuery(DRY_RUN)
    @ApiBody({ schema: ENTRY_BODY })
    @ApiOkResponse({ schema: CHANGE_VIEW })
    create(
      @Req() request: FastifyRequest,
      @Body() body: unknown,
      @Query('dry_run', new DryRunPipe()) dryRun: boolean,
    ): Promise<ConfigChangeDto> {
      return this.admin.create(kind, body, request, dryRun);
    }

    @Get(':name')
    @RequirePermission('routing.read')
    @ApiOperation({ summary: summaries.get })
    @ApiOkResponse({ schema: ENTRY_VIEW })
    get(@Req() request: FastifyRequest, @Param('name') name: string): Promise<ConfigEntryDto> {
      return this.admin.get(kind, name, actorOf(request));
    }

    @Put(':name')
    @RequirePermission('routing.write')
    @ApiOperation({ summary: summaries.replace })
    @ApiQuery(DRY_RUN)
    @ApiBody({ schema: ENTRY_BODY })
    @ApiOkResponse({ schema: CHANGE_VIEW })
    replace(
      @Req() request: FastifyRequest,
      @Param('name') name: string,
      @Body() body: unknown,
      @Query('dry_run', new DryRunPipe()) dryRun: boolean,
    ): Promise<ConfigChangeDto> {
      return this.admin.replace(kind, name, body, request, dryRun);
    }

    @Delete(':name')
    @RequirePermission('routing.write')
    @ApiOperation({ summary: summaries.remove })
    @ApiQuery(DRY_RUN)
    @ApiOkResponse({ schema: CHANGE_VIEW })
    remove(
      @Req() request: FastifyRequest,
      @Param('name') name: string,
      @Query('dry_run', new DryRunPipe()) dryRun: boolean,
    ): Promise<ConfigChangeDto> {
      return this.admin.remove(kind, name, request, dryRun);
    }

    @Get(':name/revisions')
    @RequirePermission('routing.read')
    @ApiOperation({ summary: summaries.revisions })
    @ApiOkResponse({ schema: HISTORY_VIEW })
    revisions(@Req() request: FastifyRequest, @Param('name') name: string): Promise<ConfigHistoryDto> {
      return this.admin.history(kind, name, actorOf(request));
    }

    @Post(':name/rollback')
    @HttpCode(200)
    @RequirePermission('routing.write')
    @ApiOperation({ summary: summaries.rollback })
    @ApiQuery(DRY_RUN)
    @ApiBody({ schema: schemaOf(RollbackSchema) })
    @ApiOkResponse({ schema: CHANGE_VIEW })
    rollback(
      @Req() request: FastifyRequest,
      @Param('name') name: string,
      @Body() body: unknown,
      @Query('dry_run', new DryRunPipe()) dryRun: boolean,
    ): Promise<ConfigChangeDto> {
      return this.admin.rollback(kind, name, body, request, dryRun);
    }
  }
  return ConfigResourceController;
}

export class EndpointsAdminController extends configResourceController({
  kind: 'endpoint',
  path: 'admin/v1/endpoints',
  summaries: {
    list: 'Every endpoint: from gateway.yaml (read-only) and managed through this API',
    create: 'Create an endpoint (same shape as a gateway.yaml endpoints[] entry)',
    get: 'One endpoint',
    replace: 'Create or replace an API-managed endpoint',
    remove: 'Delete an API-managed endpoint (a revision; restorable by rollback)',
    revisions: "An endpoint's numbered revisions, newest first (who, when, before/after)",
    rollback: 'Restore a revision of an endpoint (itself a new revision)',
  },
}) {}

export class RoutesAdminController extends configResourceController({
  kind: 'route',
  path: 'admin/v1/routes',
  summaries: {
    list: 'Every traffic route: from gateway.yaml (read-only) and managed through this API',
    create: 'Create a traffic route (same shape as a gateway.yaml routes[] entry)',
    get: 'One traffic route',
    replace: 'Create or replace an API-managed traffic route (e.g. new weights)',
    remove: 'Delete an API-managed traffic route (a revision; restorable by rollback)',
    revisions: "A route's numbered revisions, newest first (who, when, before/after)",
    rollback: 'Restore a revision of a route (itself a new revision)',
  },
}) {}
