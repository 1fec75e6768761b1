import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { Principal } from 'src/common/auth/principal';
import { AuditService } from 'src/modules/audit/audit.service';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { AuthSnapshotService } from 'src/modules/auth/auth-snapshot.service';

const compiled = new Map<string, RegExp>();

/** `*` matches any run of characters; everything else is literal. */
export function matchesPattern(pattern: string, name: string): boolean {
  let regex = compiled.get(pattern);
  if (!regex) {
    regex = new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`);
    if (compiled.size < 10_000) compiled.set(pattern, regex);
  }
  return regex.test(name);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Data-plane authorization: which principals and teams may call which endpoints. Holders of
 * `tenancy.all` (admins) reach every endpoint; everyone else needs an access grant for themselves or
 * their team, and an API key's own endpoint scope narrows that further. From memory only.
 */
@Injectable()
export class AccessService {
  constructor(
    private readonly snapshot: AuthSnapshotService,
    private readonly audit: AuditService,
  ) {}

  canInvoke(principal: Principal | undefined, endpoint: string): boolean {
    if (!principal) return false;
    if (principal.apiKeyEndpoints && !principal.apiKeyEndpoints.some((p) => matchesPattern(p, endpoint))) {
      return false;
    }
    if (principal.permissions.has('tenancy.all')) return true;
    return this.snapshot
      .grants()
      .some(
        (g) =>
          (g.principalId === principal.id || (g.teamId !== null && g.teamId === principal.teamId)) &&
          matchesPattern(g.endpointPattern, endpoint),
      );
  }

  assertCanInvoke(request: FastifyRequest, endpoint: string): void {
    if (this.canInvoke(request.principal, endpoint)) return;
    this.audit.denied(request, { action: 'endpoint.invoke', targetType: 'endpoint', targetId: endpoint });
    throw AuthErrors.forbidden(`You do not have access to endpoint '${endpoint.slice(0, 128)}'.`);
  }
}
