import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Req } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { Actor, AdminActor } from 'src/common/auth/admin-actor';
import { actorOf } from 'src/modules/auth/actor';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { CacheAdminService } from 'src/modules/cache/cache-admin.service';
import { CacheInvalidationDto, CachePolicyDto, CacheStatsDto } from 'src/modules/cache/dto/cache-admin.dto';

const POLICY_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    ttl_seconds: { type: 'integer', minimum: 1 },
    scope: { type: 'string', enum: ['team', 'global', 'key'] },
    requests: { type: 'string', enum: ['deterministic', 'all'] },
  },
};

const POLICY_VIEW = {
  type: 'object',
  properties: {
    endpoint: { type: 'string' },
    source: { type: 'string', enum: ['override', 'yaml', 'default'] },
    policy: { ...POLICY_BODY, required: ['enabled', 'ttl_seconds', 'scope', 'requests'] },
  },
};

const COUNT = { type: 'integer', minimum: 0 };
const STATS_VIEW = {
  type: 'object',
  properties: {
    store: { type: 'string', enum: ['redis', 'memory'] },
    hits: COUNT,
    shared_hits: COUNT,
    misses: COUNT,
    bypasses: COUNT,
    writes: COUNT,
    skipped_writes: COUNT,
    store_errors: COUNT,
    bytes_written: COUNT,
    bytes_read: COUNT,
    tokens_saved: COUNT,
    held: { type: 'object', properties: { entries: COUNT, bytes: COUNT } },
  },
};

const INVALIDATION_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    endpoint: { type: 'string' },
    team_id: { type: 'string', nullable: true },
    all: { type: 'boolean', enum: [true] },
  },
};

@ApiTags('Admin: response cache')
@Controller('admin/v1/cache')
export class CacheAdminController {
  constructor(private readonly admin: CacheAdminService) {}

  @Get('policies')
  @RequirePermission('cache.admin')
  @ApiOperation({ summary: 'Effective cache policy of every endpoint' })
  @ApiOkResponse({ schema: { type: 'array', items: POLICY_VIEW } })
  listPolicies(@Req() request: FastifyRequest): CachePolicyDto[] {
    return this.admin.listPolicies(actorOf(request));
  }

  @Get('policies/:endpoint')
  @RequirePermission('cache.admin')
  @ApiOperation({ summary: "One endpoint's effective cache policy" })
  @ApiOkResponse({ schema: POLICY_VIEW })
  getPolicy(@Req() request: FastifyRequest, @Param('endpoint') endpoint: string): CachePolicyDto {
    return this.admin.getPolicy(endpoint, actorOf(request));
  }

  @Put('policies/:endpoint')
  @RequirePermission('cache.admin')
  @ApiOperation({ summary: "Override an endpoint's cache policy (fields left out keep the YAML value)" })
  @ApiBody({ schema: POLICY_BODY })
  @ApiOkResponse({ schema: POLICY_VIEW })
  setPolicy(
    @Actor() actor: AdminActor,
    @Param('endpoint') endpoint: string,
    @Body() body: unknown,
  ): Promise<CachePolicyDto> {
    return this.admin.setPolicy(endpoint, body, actor);
  }

  @Delete('policies/:endpoint')
  @RequirePermission('cache.admin')
  @ApiOperation({ summary: 'Remove the override: the YAML policy applies again' })
  @ApiOkResponse({ schema: POLICY_VIEW })
  removePolicy(@Actor() actor: AdminActor, @Param('endpoint') endpoint: string): Promise<CachePolicyDto> {
    return this.admin.removePolicy(endpoint, actor);
  }

  @Post('invalidations')
  @HttpCode(200)
  @RequirePermission('cache.admin')
  @ApiOperation({ summary: 'Delete cached answers by endpoint, by team, both, or all' })
  @ApiBody({ schema: INVALIDATION_BODY })
  @ApiOkResponse({ schema: { type: 'object', properties: { deleted: COUNT } } })
  invalidate(@Actor() actor: AdminActor, @Body() body: unknown): Promise<CacheInvalidationDto> {
    return this.admin.invalidate(body, actor);
  }

  @Get('stats')
  @RequirePermission('cache.admin')
  @ApiOperation({ summary: "This replica's cache counters" })
  @ApiOkResponse({ schema: STATS_VIEW })
  stats(): CacheStatsDto {
    return this.admin.statsView();
  }
}
