import { EntityManager } from 'typeorm';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { ModerationException } from 'src/modules/moderation/moderation-admin.exception';
import { compilePolicy, parsePolicyRef, PolicyRef } from 'src/modules/moderation/moderation-policy.schema';
import { ModerationRepository } from 'src/modules/moderation/moderation.repository';
import { CompiledPolicy } from 'src/modules/moderation/moderation.types';
import { RouteTable } from 'src/modules/routing/route-table';

/** Endpoint key of a team override that applies to every endpoint. */
export const ALL_ENDPOINTS = '*';

export interface TeamOverride {
  teamId: string;
  endpoint: string;
  ref: PolicyRef;
  /** Compiled once for inline policies. */
  compiled?: CompiledPolicy;
  raw: unknown;
  updatedBy: string | null;
  updatedAt: Date;
}

export interface ResolvedPolicy {
  policy: CompiledPolicy | undefined;
  /** Where the policy came from, for the dry-run API and the audit trail. */
  source:
    'team-endpoint' | 'team-all' | 'file-team-endpoint' | 'file-team-all' | 'endpoint' | 'named' | 'none';
}

/**
 * Which policy guards a request. Most specific wins: the caller's team override (admin API) for this
 * endpoint, then for every endpoint (`*`), then the team's choices in gateway.yaml in the same order, then
 * the endpoint's own policy (which already falls back to the file's `default`). An admin override naming
 * a policy that no longer exists is skipped.
 */
/** What policy resolution needs of an endpoint (LLM or predict: only LLM endpoints carry their own policy). */
export interface ModeratedEndpoint {
  name: string;
  moderation?: CompiledPolicy;
}

export function resolvePolicy(
  table: RouteTable,
  endpoint: ModeratedEndpoint,
  teamId: string | null | undefined,
  overrides: ReadonlyMap<string, TeamOverride> | undefined,
): ResolvedPolicy {
  for (const [key, source] of [
    [endpoint.name, 'team-endpoint'],
    [ALL_ENDPOINTS, 'team-all'],
  ] as const) {
    const override = overrides?.get(key);
    if (!override) continue;
    if (override.ref.kind === 'none') return { policy: undefined, source };
    if (override.ref.kind === 'inline') return { policy: override.compiled, source };
    const named = table.moderation.policies.get(override.ref.name);
    if (named) return { policy: named, source };
  }
  const fileChoices = teamId ? table.moderation.teams.get(teamId) : undefined;
  for (const [key, source] of [
    [endpoint.name, 'file-team-endpoint'],
    [ALL_ENDPOINTS, 'file-team-all'],
  ] as const) {
    const choice = fileChoices?.get(key);
    if (choice !== undefined) return { policy: choice ?? undefined, source };
  }
  return endpoint.moderation
    ? { policy: endpoint.moderation, source: 'endpoint' }
    : { policy: undefined, source: 'none' };
}

export function compileOverride(
  teamId: string,
  endpoint: string,
  raw: unknown,
  meta: { updatedBy: string | null; updatedAt: Date },
): TeamOverride | { problems: string[] } {
  const problems: string[] = [];
  const ref = parsePolicyRef(raw, 'policy', problems);
  if (!ref) return { problems };
  const compiled = ref.kind === 'inline' ? compilePolicy(`team:${teamId}:${endpoint}`, ref.spec) : undefined;
  return { teamId, endpoint, ref, compiled, raw, ...meta };
}

/**
 * Team overrides, held in memory (the request path never reads the database): loaded at boot, updated in
 * place on every admin change, and reloaded periodically so other replicas' changes arrive too.
 */
@Injectable()
export class ModerationPolicyStore implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Moderation');
  private byTeam = new Map<string, Map<string, TeamOverride>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repository: ModerationRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.reload();
    const every = this.config.MODERATION_POLICY_REFRESH_MS;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.reload().catch((error: unknown) =>
          this.logger.warn(
            `team policy refresh failed: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      }, every);
      this.timer.unref();
    }
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async reload(): Promise<void> {
    const next = new Map<string, Map<string, TeamOverride>>();
    for (const row of await this.repository.all()) {
      const override = compileOverride(row.teamId, row.endpoint, row.policy, row);
      if ('problems' in override) {
        this.logger.warn(
          `ignoring invalid stored policy for team ${row.teamId}: ${override.problems.join('; ')}`,
        );
        continue;
      }
      let team = next.get(row.teamId);
      if (!team) next.set(row.teamId, (team = new Map<string, TeamOverride>()));
      team.set(row.endpoint, override);
    }
    this.byTeam = next;
  }

  overridesFor(teamId: string | null | undefined): ReadonlyMap<string, TeamOverride> | undefined {
    return teamId ? this.byTeam.get(teamId) : undefined;
  }

  list(teamId: string): TeamOverride[] {
    return [...(this.byTeam.get(teamId)?.values() ?? [])];
  }

  async put(
    teamId: string,
    endpoint: string,
    raw: unknown,
    table: RouteTable,
    by: string | null,
    m?: EntityManager,
  ): Promise<TeamOverride> {
    const override = compileOverride(teamId, endpoint, raw, { updatedBy: by, updatedAt: new Date() });
    if ('problems' in override) throw ModerationException.invalidPolicy(override.problems);
    if (override.ref.kind === 'named' && !table.moderation.policies.has(override.ref.name)) {
      throw ModerationException.invalidPolicy([`policy: unknown policy '${override.ref.name}'.`]);
    }
    await this.repository.upsert(teamId, endpoint, raw, by, m);
    const team = new Map(this.byTeam.get(teamId) ?? []);
    team.set(endpoint, override);
    const next = new Map(this.byTeam);
    next.set(teamId, team);
    this.byTeam = next;
    return override;
  }

  async remove(teamId: string, endpoint: string, m?: EntityManager): Promise<boolean> {
    const removed = await this.repository.remove(teamId, endpoint, m);
    const team = new Map(this.byTeam.get(teamId) ?? []);
    team.delete(endpoint);
    const next = new Map(this.byTeam);
    if (team.size) next.set(teamId, team);
    else next.delete(teamId);
    this.byTeam = next;
    return removed;
  }
}
