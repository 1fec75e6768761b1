import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
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
  listPolicies(): CachePolicyDto[] {
    return this.admin.listPolicies();
  }

  @Get('policies/:endpoint')
  @RequirePermission('cache.admin')
  @ApiOperation({ summary: "One endpoint's effective cache policy" })
  getPolicy(@Param('endpoint') endpoint: string): CachePolicyDto {
    return this.admin.getPolicy(endpoint);
  }

  @Put('policies/:endpoint')
  @RequirePermission('cache.admin')
  @ApiOperation({ summary: "Override an endpoint's cache policy (fields left out keep the YAML value)" })
  @ApiBody({ schema: POLICY_BODY })
  setPolicy(@Param('endpoint') endpoint: string, @Body() body: unknown): Promise<CachePolicyDto> {
    return this.admin.setPolicy(endpoint, body);
  }

  @Delete('policies/:endpoint')
  @RequirePermission('cache.admin')
  @ApiOperation({ summary: 'Remove the override: the YAML policy applies again' })
  removePolicy(@Param('endpoint') endpoint: string): Promise<CachePolicyDto> {
    return this.admin.removePolicy(endpoint);
  }

  @Post('invalidations')
  @HttpCode(200)
  @RequirePermission('cache.admin')
  @ApiOperation({ summary: 'Delete cached answers by endpoint, by team, both, or all' })
  @ApiBody({ schema: INVALIDATION_BODY })
  invalidate(@Body() body: unknown): Promise<CacheInvalidationDto> {
    return this.admin.invalidate(body);
  }

  @Get('stats')
  @RequirePermission('cache.admin')
  @ApiOperation({ summary: "This replica's cache counters" })
  stats(): CacheStatsDto {
    return this.admin.statsView();
  }
}
