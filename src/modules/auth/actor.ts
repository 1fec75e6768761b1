import { FastifyRequest } from 'fastify';
import { Principal } from 'src/common/auth/principal';
import { AuthErrors } from 'src/modules/auth/auth.exception';

export function actorOf(request: FastifyRequest): Principal {
  if (!request.principal) throw AuthErrors.missingCredentials();
  return request.principal;
}

/** Admins see every team; everyone else only their own (objects of other teams answer 404). */
export function seesTeam(actor: Principal, teamId: string | null): boolean {
  return actor.permissions.has('tenancy.all') || (teamId !== null && teamId === actor.teamId);
}

/** `undefined` = no team filter (admins); otherwise the caller's own team. */
export function teamFilter(actor: Principal): string | null | undefined {
  return actor.permissions.has('tenancy.all') ? undefined : actor.teamId;
}
