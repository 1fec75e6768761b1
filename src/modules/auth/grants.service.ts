import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuditService } from 'src/modules/audit/audit.service';
import { actorOf, seesTeam } from 'src/modules/auth/actor';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { AuthRepository } from 'src/modules/auth/auth.repository';
import { AuthSnapshotService } from 'src/modules/auth/auth-snapshot.service';
import { CreateGrantDto, grantDto } from 'src/modules/auth/dto/admin.dto';

/** Access grants: which team or principal may call which endpoints (name patterns with `*`). */
@Injectable()
export class GrantsService {
  constructor(
    private readonly repository: AuthRepository,
    private readonly snapshot: AuthSnapshotService,
    private readonly audit: AuditService,
  ) {}

  async create(request: FastifyRequest, dto: z.infer<typeof CreateGrantDto>) {
    const grant = await this.repository.transaction(async (m) => {
      let teamId = dto.teamId ?? null;
      if (dto.teamId && !(await this.repository.findTeam(dto.teamId, m))) throw AuthErrors.notFound('Team');
      if (dto.principalId) {
        const principal = await this.repository.findPrincipal(dto.principalId, m);
        if (!principal) throw AuthErrors.notFound('Principal');
        teamId = principal.teamId;
      }
      const created = await this.repository.insertGrant(
        {
          teamId: dto.teamId ?? null,
          principalId: dto.principalId ?? null,
          endpointPattern: dto.endpointPattern,
          destinations: dto.destinations ?? null,
          createdBy: actorOf(request).id,
        },
        m,
      );
      await this.audit.change(
        request,
        {
          action: 'grant.create',
          targetType: 'grant',
          targetId: created.id,
          after: grantDto(created),
          teamId,
        },
        m,
      );
      return created;
    });
    await this.snapshot.changed();
    return grantDto(grant);
  }

  async list(request: FastifyRequest) {
    const actor = actorOf(request);
    const grants = await this.repository.listGrants();
    return grants
      .filter(
        (g) =>
          g.principalId === actor.id ||
          seesTeam(actor, g.teamId ?? this.snapshot.principal(g.principalId!)?.teamId ?? null),
      )
      .map(grantDto);
  }

  async remove(request: FastifyRequest, id: string): Promise<void> {
    await this.repository.transaction(async (m) => {
      const before = await this.repository.findGrant(id, m);
      if (!before) throw AuthErrors.notFound('Grant');
      await this.repository.deleteGrant(id, m);
      await this.audit.change(
        request,
        {
          action: 'grant.delete',
          targetType: 'grant',
          targetId: id,
          before: grantDto(before),
          teamId: before.teamId,
        },
        m,
      );
    });
    await this.snapshot.changed();
  }
}
