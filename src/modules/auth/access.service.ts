import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { Principal } from 'src/common/auth/principal';
import { AuditService } from 'src/modules/audit/audit.service';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { AuthSnapshotService } from 'src/modules/auth/auth-snapshot.service';
import type { EndpointEntry, RouteEntry } from 'src/modules/routing/route-table';
import { pickDestination, SplitRoute } from 'src/modules/routing/traffic/route-strategy';

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

  /**
   * Which destinations of a traffic route the caller reaches: null = all (admins, or any matching grant
   * without a destination list); otherwise the union of the matching grants' destination patterns.
   */
  destinationFilter(principal: Principal | undefined, route: string): ((endpoint: string) => boolean) | null {
    if (!principal || principal.permissions.has('tenancy.all')) return null;
    const matching = this.snapshot
      .grants()
      .filter(
        (g) =>
          (g.principalId === principal.id || (g.teamId !== null && g.teamId === principal.teamId)) &&
          matchesPattern(g.endpointPattern, route),
      );
    if (matching.length === 0 || matching.some((g) => g.destinations === null)) return null;
    const patterns = matching.flatMap((g) => g.destinations ?? []);
    return (endpoint) => patterns.some((p) => matchesPattern(p, endpoint));
  }

  /**
   * The endpoint a request reaches. A traffic route draws among the destinations the caller may reach,
   * their weights renormalised (e.g. only one team reaches the challenger).
   */
  pick(
    request: FastifyRequest,
    entry: RouteEntry,
    random: () => number = Math.random,
    body?: Record<string, unknown>,
  ): EndpointEntry {
    if (entry.kind === 'endpoint') return entry;
    return this.pickFrom(request, entry, random, body);
  }

  /** The destination of a traffic route (LLM or predict) for this caller: grants, then the route's strategy. */
  pickFrom<E extends { name: string }>(
    request: FastifyRequest,
    route: SplitRoute<E>,
    random: () => number = Math.random,
    body?: Record<string, unknown>,
  ): E {
    const allowed = this.destinationFilter(request.principal, route.name);
    const eligible = allowed
      ? route.destinations.filter((d) => allowed(d.endpoint.name))
      : route.destinations;
    if (eligible.length === 0) {
      this.audit.denied(request, { action: 'endpoint.invoke', targetType: 'route', targetId: route.name });
      throw AuthErrors.forbidden(
        `You do not have access to any destination of '${route.name.slice(0, 128)}'.`,
      );
    }
    // The route's strategy (content rules, sticky key, else weighted random) decides among them.
    const principal = request.principal;
    return pickDestination(
      route,
      eligible,
      allowed,
      { principalId: principal?.id, teamId: principal?.teamId, headers: request.headers, body },
      random,
    );
  }

  assertCanInvoke(request: FastifyRequest, endpoint: string): void {
    if (this.canInvoke(request.principal, endpoint)) return;
    this.audit.denied(request, { action: 'endpoint.invoke', targetType: 'endpoint', targetId: endpoint });
    throw AuthErrors.forbidden(`You do not have access to endpoint '${endpoint.slice(0, 128)}'.`);
  }
}
