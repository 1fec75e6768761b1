import { Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { Principal } from 'src/common/auth/principal';
import { globMatch } from 'src/common/text/glob-match';
import { AuthSnapshotService } from 'src/modules/auth/auth-snapshot.service';
import { pickDestination, SplitRoute } from 'src/modules/routing/traffic/route-strategy';

/** `*` matches any run of characters; everything else is literal. Linear-time, never a regex. */
export function matchesPattern(pattern: string, name: string): boolean {
  return globMatch(pattern, name);
}

/**
 * Data-plane authorization: which principals and teams may call which endpoints. Holders of
 * `tenancy.all` (admins) reach every endpoint; everyone else needs an access grant for themselves or
 * their team, and an API key's own endpoint scope narrows that further. From memory only.
 */
@Injectable()
export class AccessService {
  constructor(private readonly snapshot: AuthSnapshotService) {}

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
   * The destination of a traffic route (LLM or predict) for this caller: the destinations its grants
   * reach, then the route's strategy (content rules, sticky key, else weighted random) among them.
   * Undefined when the caller reaches none of them.
   */
  pickFrom<E extends { name: string }>(
    principal: Principal | undefined,
    route: SplitRoute<E>,
    request: { headers: IncomingHttpHeaders; body?: Record<string, unknown> },
    random: () => number = Math.random,
  ): E | undefined {
    const allowed = this.destinationFilter(principal, route.name);
    const eligible = allowed
      ? route.destinations.filter((d) => allowed(d.endpoint.name))
      : route.destinations;
    if (eligible.length === 0) return undefined;
    return pickDestination(
      route,
      eligible,
      allowed,
      { principalId: principal?.id, teamId: principal?.teamId, headers: request.headers, body: request.body },
      random,
    );
  }
}
