import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuditService } from 'src/modules/audit/audit.service';
import { actorOf, seesTeam, teamFilter } from 'src/modules/auth/actor';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { AuthRepository } from 'src/modules/auth/auth.repository';
import { AuthSnapshotService } from 'src/modules/auth/auth-snapshot.service';
import {
  CreatePrincipalDto,
  CreateTeamDto,
  principalDto,
  SetRolesDto,
  teamDto,
  UpdatePrincipalDto,
  UpdateTeamDto,
} from 'src/modules/auth/dto/admin.dto';

/** Admin use cases for teams, principals and their roles. Every change is audited in its transaction. */
@Injectable()
export class IdentityAdminService {
  constructor(
    private readonly repository: AuthRepository,
    private readonly snapshot: AuthSnapshotService,
    private readonly audit: AuditService,
  ) {}

  async createTeam(request: FastifyRequest, dto: z.infer<typeof CreateTeamDto>) {
    const team = await this.repository.transaction(async (m) => {
      const created = await this.repository.insertTeam(dto.name, dto.description, m);
      if (!created) throw AuthErrors.conflict(`A team named '${dto.name}' already exists.`);
      await this.audit.change(
        request,
        {
          action: 'team.create',
          targetType: 'team',
          targetId: created.id,
          after: teamDto(created),
          teamId: created.id,
        },
        m,
      );
      return created;
    });
    await this.snapshot.changed();
    return teamDto(team);
  }

  async listTeams(request: FastifyRequest) {
    const actor = actorOf(request);
    return (await this.repository.listTeams()).filter((t) => seesTeam(actor, t.id)).map(teamDto);
  }

  async getTeam(request: FastifyRequest, id: string) {
    const team = await this.repository.findTeam(id);
    if (!team || !seesTeam(actorOf(request), team.id)) throw AuthErrors.notFound('Team');
    return teamDto(team);
  }

  async updateTeam(request: FastifyRequest, id: string, dto: z.infer<typeof UpdateTeamDto>) {
    const team = await this.repository.transaction(async (m) => {
      const before = await this.repository.findTeam(id, m);
      if (!before) throw AuthErrors.notFound('Team');
      const after = (await this.repository.updateTeam(id, dto.description, m))!;
      await this.audit.change(
        request,
        {
          action: 'team.update',
          targetType: 'team',
          targetId: id,
          before: teamDto(before),
          after: teamDto(after),
          teamId: id,
        },
        m,
      );
      return after;
    });
    await this.snapshot.changed();
    return teamDto(team);
  }

  async deleteTeam(request: FastifyRequest, id: string): Promise<void> {
    await this.repository.transaction(async (m) => {
      const before = await this.repository.findTeam(id, m);
      if (!before) throw AuthErrors.notFound('Team');
      if (await this.repository.teamHasMembers(id, m)) {
        throw AuthErrors.conflict('The team still has principals; move or delete them first.');
      }
      await this.repository.deleteTeam(id, m);
      await this.audit.change(
        request,
        { action: 'team.delete', targetType: 'team', targetId: id, before: teamDto(before), teamId: id },
        m,
      );
    });
    await this.snapshot.changed();
  }

  async createPrincipal(request: FastifyRequest, dto: z.infer<typeof CreatePrincipalDto>) {
    const principal = await this.repository.transaction(async (m) => {
      if (dto.teamId && !(await this.repository.findTeam(dto.teamId, m))) throw AuthErrors.notFound('Team');
      const created = await this.repository.insertPrincipal(
        {
          kind: dto.kind,
          name: dto.name,
          teamId: dto.teamId,
          roles: [...new Set(dto.roles)],
          issuer: dto.issuer ?? null,
          subject: dto.subject ?? null,
        },
        m,
      );
      if (!created) throw AuthErrors.conflict('A principal with this issuer and subject already exists.');
      await this.audit.change(
        request,
        {
          action: 'principal.create',
          targetType: 'principal',
          targetId: created.id,
          after: principalDto(created),
          teamId: created.teamId,
        },
        m,
      );
      return created;
    });
    await this.snapshot.changed();
    return principalDto(principal);
  }

  async listPrincipals(request: FastifyRequest) {
    return (await this.repository.listPrincipals(teamFilter(actorOf(request)))).map(principalDto);
  }

  async getPrincipal(request: FastifyRequest, id: string) {
    const principal = await this.repository.findPrincipal(id);
    if (!principal || !seesTeam(actorOf(request), principal.teamId)) throw AuthErrors.notFound('Principal');
    return principalDto(principal);
  }

  async updatePrincipal(request: FastifyRequest, id: string, dto: z.infer<typeof UpdatePrincipalDto>) {
    return this.changePrincipal(request, id, 'principal.update', dto);
  }

  async setRoles(request: FastifyRequest, id: string, dto: z.infer<typeof SetRolesDto>) {
    return this.changePrincipal(request, id, 'principal.roles.set', { roles: [...new Set(dto.roles)] });
  }

  async deletePrincipal(request: FastifyRequest, id: string): Promise<void> {
    if (actorOf(request).id === id) throw AuthErrors.conflict('You cannot delete yourself.');
    await this.repository.transaction(async (m) => {
      const before = await this.repository.findPrincipal(id, m);
      if (!before) throw AuthErrors.notFound('Principal');
      await this.repository.deletePrincipal(id, m);
      await this.audit.change(
        request,
        {
          action: 'principal.delete',
          targetType: 'principal',
          targetId: id,
          before: principalDto(before),
          teamId: before.teamId,
        },
        m,
      );
    });
    await this.snapshot.changed();
  }

  private async changePrincipal(
    request: FastifyRequest,
    id: string,
    action: string,
    patch: Parameters<AuthRepository['updatePrincipal']>[1],
  ) {
    const principal = await this.repository.transaction(async (m) => {
      const before = await this.repository.findPrincipal(id, m);
      if (!before) throw AuthErrors.notFound('Principal');
      if (patch.teamId && !(await this.repository.findTeam(patch.teamId, m)))
        throw AuthErrors.notFound('Team');
      const after = (await this.repository.updatePrincipal(id, patch, m))!;
      await this.audit.change(
        request,
        {
          action,
          targetType: 'principal',
          targetId: id,
          before: principalDto(before),
          after: principalDto(after),
          teamId: after.teamId,
        },
        m,
      );
      return after;
    });
    await this.snapshot.changed();
    return principalDto(principal);
  }
}
