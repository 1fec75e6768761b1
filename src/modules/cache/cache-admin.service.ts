import { EventEmitter2 } from '@nestjs/event-emitter';
import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { AdminActor } from 'src/common/auth/admin-actor';
import { Principal } from 'src/common/auth/principal';
import { isTeamId, TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { AuditService } from 'src/modules/audit/audit.service';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import {
  CACHE_REQUESTS,
  CACHE_SCOPES,
  CachePolicyInput,
  MAX_TTL_SECONDS,
} from 'src/modules/cache/cache-policy';
import { CachePolicyService } from 'src/modules/cache/cache-policy.service';
import { CacheStatsService } from 'src/modules/cache/cache-stats.service';
import {
  CacheInvalidationDto,
  CachePolicyDto,
  CacheStatsDto,
  toPolicyDto,
  toStatsDto,
} from 'src/modules/cache/dto/cache-admin.dto';
import { CACHE_INVALIDATED_EVENT, CacheInvalidatedEvent } from 'src/modules/cache/cache.events';
import { CacheService } from 'src/modules/cache/cache.service';
import { RouteConfigService } from 'src/modules/routing/route-config.service';
import { RoutingService } from 'src/modules/routing/routing.service';
import { EndpointEntry } from 'src/modules/routing/route-table';

const policySchema = z
  .object({
    enabled: z.boolean().optional(),
    ttl_seconds: z.number().int().min(1).max(MAX_TTL_SECONDS).optional(),
    scope: z.enum(CACHE_SCOPES as [string, ...string[]]).optional(),
    requests: z.enum(CACHE_REQUESTS as [string, ...string[]]).optional(),
  })
  .strict();

const invalidationSchema = z
  .object({
    endpoint: z.string().min(1).max(256).optional(),
    team_id: z.string().min(1).max(256).nullable().optional(),
    all: z.literal(true).optional(),
  })
  .strict()
  .refine((body) => body.all === true || body.endpoint !== undefined || body.team_id !== undefined, {
    message: "give 'endpoint', 'team_id' (null = the anonymous team), or 'all': true",
  })
  .refine((body) => !(body.all === true && (body.endpoint !== undefined || body.team_id !== undefined)), {
    message: "'all' cannot be combined with 'endpoint' or 'team_id'",
  });

/** Admin use cases of the cache: policy overrides, invalidation, counters. */
@Injectable()
export class CacheAdminService {
  constructor(
    private readonly cache: CacheService,
    private readonly policies: CachePolicyService,
    private readonly stats: CacheStatsService,
    private readonly routing: RoutingService,
    private readonly owners: RouteConfigService,
    private readonly audit: AuditService,
    private readonly events: EventEmitter2,
  ) {}

  /** A policy belongs to its endpoint's owner: global endpoints' policies are the admins'. */
  listPolicies(actor: Principal): CachePolicyDto[] {
    return TenancyPolicy.visible(actor, this.routing.table().endpoints, (e) =>
      this.owners.ownerOf(e.name),
    ).map((endpoint) => toPolicyDto(this.policies.view(endpoint)));
  }

  getPolicy(name: string, actor: Principal): CachePolicyDto {
    return toPolicyDto(this.policies.view(this.endpoint(name, actor)));
  }

  async setPolicy(name: string, body: unknown, actor: AdminActor): Promise<CachePolicyDto> {
    const endpoint = this.endpoint(name, actor.principal);
    const owner = this.owners.ownerOf(endpoint.name);
    TenancyPolicy.assertChange(actor.principal, owner, `cache policy of endpoint '${endpoint.name}'`);
    const parsed = parse(policySchema, body);
    if (parsed.scope === 'global') {
      TenancyPolicy.assertAdminOnly(actor.principal, "a cache shared by every team ('scope: global')");
    }
    const input: CachePolicyInput = {};
    if (parsed.enabled !== undefined) input.enabled = parsed.enabled;
    if (parsed.ttl_seconds !== undefined) input.ttlSeconds = parsed.ttl_seconds;
    if (parsed.scope !== undefined) input.scope = parsed.scope as CachePolicyInput['scope'];
    if (parsed.requests !== undefined) input.requests = parsed.requests as CachePolicyInput['requests'];
    const before = this.policies.view(endpoint);
    await this.audit.write(actor, async (m) => {
      await this.policies.setOverride(endpoint.name, input, m);
      return { result: undefined, event: policyEvent('set', endpoint.name, owner, before, input) };
    });
    return toPolicyDto(this.policies.view(endpoint));
  }

  async removePolicy(name: string, actor: AdminActor): Promise<CachePolicyDto> {
    const endpoint = this.endpoint(name, actor.principal);
    const owner = this.owners.ownerOf(endpoint.name);
    TenancyPolicy.assertChange(actor.principal, owner, `cache policy of endpoint '${endpoint.name}'`);
    const before = this.policies.view(endpoint);
    await this.audit.write(actor, async (m) => {
      await this.policies.removeOverride(endpoint.name, m);
      return { result: undefined, event: policyEvent('remove', endpoint.name, owner, before, null) };
    });
    return toPolicyDto(this.policies.view(endpoint));
  }

  /**
   * Non-admins invalidate their own team's entries only (the team defaults to theirs); every team's,
   * or `all`, is an admin's. The store is Redis or memory, not the database: the audit row is written
   * once the store answered (a failed invalidation leaves none).
   */
  async invalidate(body: unknown, actor: AdminActor): Promise<CacheInvalidationDto> {
    const parsed = parse(invalidationSchema, body);
    const principal = actor.principal;
    if (!TenancyPolicy.isAdmin(principal)) {
      if (parsed.all) TenancyPolicy.assertAdminOnly(principal, "invalidating every team's cache ('all')");
      if (parsed.team_id !== undefined && parsed.team_id !== principal.teamId) {
        TenancyPolicy.assertAdminOnly(principal, "invalidating another team's cache");
      }
      if (principal.teamId === null) {
        TenancyPolicy.assertAdminOnly(principal, 'invalidating the cache without a team');
      }
      if (parsed.endpoint !== undefined) this.endpoint(parsed.endpoint, principal);
    }
    const filter = parsed.all
      ? {}
      : {
          endpoint: parsed.endpoint,
          teamId: TenancyPolicy.isAdmin(principal) ? parsed.team_id : principal.teamId,
        };
    let deleted: number;
    try {
      deleted = await this.cache.invalidate(filter);
      // Other answer stores (the semantic cache) drop the same entries and report how many.
      const others = (await this.events.emitAsync(
        CACHE_INVALIDATED_EVENT,
        new CacheInvalidatedEvent(filter.endpoint, filter.teamId ?? undefined),
      )) as unknown[];
      for (const count of others) if (typeof count === 'number') deleted += count;
    } catch {
      throw new GatewayException(
        503,
        GatewayErrorCode.UpstreamUnavailable,
        'The cache store is unavailable; nothing was invalidated. Retry later.',
        { retryAfter: '5' },
      );
    }
    await this.audit.write(actor, async () => ({
      result: undefined,
      event: {
        action: 'cache.invalidate',
        targetType: 'cache',
        targetId: parsed.endpoint ?? null,
        teamId: isTeamId(filter.teamId) ? filter.teamId : null,
        before: null,
        after: {
          all: parsed.all === true,
          endpoint: filter.endpoint ?? null,
          team_id: filter.teamId,
          deleted,
        },
      },
    }));
    return { deleted };
  }

  statsView(): CacheStatsDto {
    return toStatsDto(this.cache.storeKind, this.stats.snapshot(), this.cache.storeUsage());
  }

  private endpoint(name: string, actor: Principal): EndpointEntry {
    const endpoint = this.routing.table().endpoints.find((candidate) => candidate.name === name);
    if (!endpoint || !TenancyPolicy.canRead(actor, this.owners.ownerOf(endpoint.name))) {
      throw new GatewayException(
        404,
        GatewayErrorCode.EndpointNotFound,
        `No endpoint named '${name.slice(0, 128)}'.`,
      );
    }
    return endpoint;
  }
}

function policyEvent(
  verb: 'set' | 'remove',
  endpoint: string,
  owner: string | null,
  before: unknown,
  after: unknown,
) {
  return {
    action: `cache.policy.${verb}`,
    targetType: 'cache.policy',
    targetId: endpoint,
    teamId: owner,
    before,
    after,
  };
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.join('.');
  throw new GatewayException(
    400,
    GatewayErrorCode.InvalidRequest,
    path ? `${path}: ${issue.message}` : issue.message,
    {
      param: path || null,
    },
  );
}
