import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Put,
  Req,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags, ApiOkResponse } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { actorOf } from 'src/modules/auth/actor';
import {
  CreatePrincipalDto,
  CreateTeamDto,
  SetRolesDto,
  UpdatePrincipalDto,
  UpdateTeamDto,
} from 'src/modules/auth/dto/admin.dto';
import { schemaOf } from 'src/common/validation/openapi-schema';
import { ZodPipe } from 'src/common/validation/zod.pipe';
import { IdentityAdminService } from 'src/modules/auth/identity-admin.service';
import { ME_VIEW, PRINCIPAL_VIEW, TEAM_VIEW } from 'src/modules/auth/dto/admin.views';

const id = new ParseUUIDPipe();

@ApiTags('Admin: identity')
@ApiBearerAuth()
@Controller('admin/v1')
export class IdentityAdminController {
  constructor(private readonly identity: IdentityAdminService) {}

  @Get('me')
  @RequirePermission('self.read')
  @ApiOperation({ summary: 'The caller: principal id, team, roles and effective permissions' })
  @ApiOkResponse({ schema: ME_VIEW })
  me(@Req() request: FastifyRequest) {
    const actor = actorOf(request);
    return {
      id: actor.id,
      kind: actor.kind,
      name: actor.name,
      teamId: actor.teamId,
      roles: actor.roles,
      permissions: [...actor.permissions].sort(),
      apiKeyId: actor.apiKeyId,
    };
  }

  @Post('teams')
  @RequirePermission('teams.write')
  @ApiOperation({ summary: 'Create a team (the tenant unit)' })
  @ApiBody({ schema: schemaOf(CreateTeamDto) })
  createTeam(
    @Req() request: FastifyRequest,
    @Body(new ZodPipe(CreateTeamDto)) dto: z.infer<typeof CreateTeamDto>,
  ) {
    return this.identity.createTeam(request, dto);
  }

  @Get('teams')
  @RequirePermission('teams.read')
  @ApiOperation({ summary: 'List teams (your own unless you are an admin)' })
  @ApiOkResponse({ schema: { type: 'array', items: TEAM_VIEW } })
  listTeams(@Req() request: FastifyRequest) {
    return this.identity.listTeams(request);
  }

  @Get('teams/:id')
  @RequirePermission('teams.read')
  @ApiOperation({ summary: 'Get a team' })
  getTeam(@Req() request: FastifyRequest, @Param('id', id) teamId: string) {
    return this.identity.getTeam(request, teamId);
  }

  @Patch('teams/:id')
  @RequirePermission('teams.write')
  @ApiOperation({ summary: 'Update a team' })
  @ApiBody({ schema: schemaOf(UpdateTeamDto) })
  updateTeam(
    @Req() request: FastifyRequest,
    @Param('id', id) teamId: string,
    @Body(new ZodPipe(UpdateTeamDto)) dto: z.infer<typeof UpdateTeamDto>,
  ) {
    return this.identity.updateTeam(request, teamId, dto);
  }

  @Delete('teams/:id')
  @HttpCode(204)
  @RequirePermission('teams.write')
  @ApiOperation({ summary: 'Delete an empty team' })
  deleteTeam(@Req() request: FastifyRequest, @Param('id', id) teamId: string) {
    return this.identity.deleteTeam(request, teamId);
  }

  @Post('principals')
  @RequirePermission('principals.write')
  @ApiOperation({ summary: 'Register a user or service principal (with issuer+subject for JWT callers)' })
  @ApiBody({ schema: schemaOf(CreatePrincipalDto) })
  createPrincipal(
    @Req() request: FastifyRequest,
    @Body(new ZodPipe(CreatePrincipalDto)) dto: z.infer<typeof CreatePrincipalDto>,
  ) {
    return this.identity.createPrincipal(request, dto);
  }

  @Get('principals')
  @RequirePermission('principals.read')
  @ApiOperation({ summary: 'List principals (of your team unless you are an admin)' })
  @ApiOkResponse({ schema: { type: 'array', items: PRINCIPAL_VIEW } })
  listPrincipals(@Req() request: FastifyRequest) {
    return this.identity.listPrincipals(request);
  }

  @Get('principals/:id')
  @RequirePermission('principals.read')
  @ApiOperation({ summary: 'Get a principal' })
  getPrincipal(@Req() request: FastifyRequest, @Param('id', id) principalId: string) {
    return this.identity.getPrincipal(request, principalId);
  }

  @Patch('principals/:id')
  @RequirePermission('principals.write')
  @ApiOperation({ summary: 'Rename, move to another team, disable or enable a principal' })
  @ApiBody({ schema: schemaOf(UpdatePrincipalDto) })
  updatePrincipal(
    @Req() request: FastifyRequest,
    @Param('id', id) principalId: string,
    @Body(new ZodPipe(UpdatePrincipalDto)) dto: z.infer<typeof UpdatePrincipalDto>,
  ) {
    return this.identity.updatePrincipal(request, principalId, dto);
  }

  @Put('principals/:id/roles')
  @RequirePermission('principals.write')
  @ApiOperation({ summary: "Replace a principal's role assignments" })
  @ApiBody({ schema: schemaOf(SetRolesDto) })
  setRoles(
    @Req() request: FastifyRequest,
    @Param('id', id) principalId: string,
    @Body(new ZodPipe(SetRolesDto)) dto: z.infer<typeof SetRolesDto>,
  ) {
    return this.identity.setRoles(request, principalId, dto);
  }

  @Delete('principals/:id')
  @HttpCode(204)
  @RequirePermission('principals.write')
  @ApiOperation({ summary: 'Delete a principal and its keys' })
  deletePrincipal(@Req() request: FastifyRequest, @Param('id', id) principalId: string) {
    return this.identity.deletePrincipal(request, principalId);
  }
}
