import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Req } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { Actor, AdminActor } from 'src/common/auth/admin-actor';
import { actorOf } from 'src/modules/auth/actor';
import {
  DRY_RUN_BODY,
  DRY_RUN_VIEW,
  DryRunRequestDto,
  DryRunResponseDto,
  OVERRIDE_VIEW,
  POLICIES_VIEW,
  PoliciesResponseDto,
  TeamOverrideDto,
} from 'src/modules/moderation/dto/moderation.dto';
import { ModerationAdminService } from 'src/modules/moderation/moderation-admin.service';

/** Guardrail administration: policies from gateway.yaml, per-team overrides, dry runs. */
@ApiTags('Admin: moderation')
@Controller('admin/v1/moderation')
export class ModerationController {
  constructor(private readonly admin: ModerationAdminService) {}

  @Get('policies')
  @RequirePermission('moderation.admin')
  @ApiOperation({ summary: 'Named policies, the default, and the policy of each endpoint' })
  @ApiOkResponse({ schema: POLICIES_VIEW })
  policies(): PoliciesResponseDto {
    return this.admin.policies();
  }

  @Get('teams/:team/overrides')
  @RequirePermission('moderation.admin')
  @ApiOperation({ summary: "A team's guardrail overrides" })
  @ApiOkResponse({ schema: { type: 'array', items: OVERRIDE_VIEW } })
  overrides(@Req() request: FastifyRequest, @Param('team') team: string): TeamOverrideDto[] {
    return this.admin.overrides(team, actorOf(request));
  }

  @Put('teams/:team/overrides/:endpoint')
  @RequirePermission('moderation.admin')
  @ApiOperation({
    summary: "Set a team's policy for an endpoint ('*' = all): a policy name, 'none', or an inline policy",
  })
  @ApiBody({
    schema: {
      type: 'object',
      properties: { policy: { description: "a policy name, 'none', or an inline policy" } },
      example: { policy: 'strict' },
    },
  })
  @ApiOkResponse({ schema: OVERRIDE_VIEW })
  putOverride(
    @Param('team') team: string,
    @Param('endpoint') endpoint: string,
    @Body() body: unknown,
    @Actor() actor: AdminActor,
  ): Promise<TeamOverrideDto> {
    return this.admin.putOverride(team, endpoint, body, actor);
  }

  @Delete('teams/:team/overrides/:endpoint')
  @HttpCode(204)
  @RequirePermission('moderation.admin')
  @ApiOperation({ summary: "Remove a team's override" })
  deleteOverride(
    @Actor() actor: AdminActor,
    @Param('team') team: string,
    @Param('endpoint') endpoint: string,
  ): Promise<void> {
    return this.admin.deleteOverride(team, endpoint, actor);
  }

  @Post('dry-run')
  @HttpCode(200)
  @RequirePermission('moderation.admin')
  @ApiOperation({
    summary: 'Evaluate a text against a policy (named, or the one guarding an endpoint for a team)',
  })
  @ApiBody({ schema: DRY_RUN_BODY })
  @ApiOkResponse({ schema: DRY_RUN_VIEW })
  dryRun(@Body() body: DryRunRequestDto, @Req() request: FastifyRequest): Promise<DryRunResponseDto> {
    // A judge or moderation model the policy calls is charged to the admin who asked.
    return this.admin.dryRun(body, { requestId: String(request.id), principal: request.principal });
  }
}
