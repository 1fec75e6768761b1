import { Injectable } from '@nestjs/common';
import { z } from 'zod';
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
import { CacheService } from 'src/modules/cache/cache.service';
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
  ) {}

  listPolicies(): CachePolicyDto[] {
    return this.routing.table().endpoints.map((endpoint) => toPolicyDto(this.policies.view(endpoint)));
  }

  getPolicy(name: string): CachePolicyDto {
    return toPolicyDto(this.policies.view(this.endpoint(name)));
  }

  async setPolicy(name: string, body: unknown): Promise<CachePolicyDto> {
    const endpoint = this.endpoint(name);
    const parsed = parse(policySchema, body);
    const input: CachePolicyInput = {};
    if (parsed.enabled !== undefined) input.enabled = parsed.enabled;
    if (parsed.ttl_seconds !== undefined) input.ttlSeconds = parsed.ttl_seconds;
    if (parsed.scope !== undefined) input.scope = parsed.scope as CachePolicyInput['scope'];
    if (parsed.requests !== undefined) input.requests = parsed.requests as CachePolicyInput['requests'];
    await this.policies.setOverride(endpoint.name, input);
    return toPolicyDto(this.policies.view(endpoint));
  }

  async removePolicy(name: string): Promise<CachePolicyDto> {
    const endpoint = this.endpoint(name);
    await this.policies.removeOverride(endpoint.name);
    return toPolicyDto(this.policies.view(endpoint));
  }

  async invalidate(body: unknown): Promise<CacheInvalidationDto> {
    const parsed = parse(invalidationSchema, body);
    try {
      const deleted = await this.cache.invalidate(
        parsed.all ? {} : { endpoint: parsed.endpoint, teamId: parsed.team_id },
      );
      return { deleted };
    } catch {
      throw new GatewayException(
        503,
        GatewayErrorCode.UpstreamUnavailable,
        'The cache store is unavailable; nothing was invalidated. Retry later.',
        { retryAfter: '5' },
      );
    }
  }

  statsView(): CacheStatsDto {
    return toStatsDto(this.cache.storeKind, this.stats.snapshot(), this.cache.storeUsage());
  }

  private endpoint(name: string): EndpointEntry {
    const endpoint = this.routing.table().endpoints.find((candidate) => candidate.name === name);
    if (!endpoint) {
      throw new GatewayException(
        404,
        GatewayErrorCode.EndpointNotFound,
        `No endpoint named '${name.slice(0, 128)}'.`,
      );
    }
    return endpoint;
  }
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
