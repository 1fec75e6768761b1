import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuditRepository } from 'src/modules/audit/audit.repository';
import { actorOf } from 'src/modules/auth/actor';
import { AuditQueryDto } from 'src/modules/audit/dto/audit-query.dto';

const NOTHING = '00000000-0000-0000-0000-000000000000';

/**
 * Reads the audit log: admins see every team's entries, others only their own team's; a principal
 * without a team sees only the entries it caused itself (teamless rows are not one shared tenant).
 */
@Injectable()
export class AuditQueryService {
  constructor(private readonly repository: AuditRepository) {}

  async list(request: FastifyRequest, q: z.infer<typeof AuditQueryDto>) {
    const actor = actorOf(request);
    const everything = actor.permissions.has('tenancy.all');
    // Asking for another team's entries shows nothing rather than an error (no existence oracle).
    const teamId = everything ? q.teamId : q.teamId && q.teamId !== actor.teamId ? NOTHING : actor.teamId;
    const ownOnly = !everything && actor.teamId === null;
    const actorId = ownOnly ? (q.actorId && q.actorId !== actor.id ? NOTHING : actor.id) : q.actorId;
    const rows = await this.repository.query({
      teamId,
      actorId,
      action: q.action,
      outcome: q.outcome,
      targetType: q.targetType,
      targetId: q.targetId,
      requestId: q.requestId,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
      beforeId: q.before,
      limit: q.limit,
    });
    return {
      entries: rows.map((r) => ({ ...r, at: r.at.toISOString() })),
      next: rows.length === q.limit ? rows[rows.length - 1].id : null,
    };
  }
}
