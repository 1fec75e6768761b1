import { InvocationParent } from 'src/modules/pipeline/internal-invocations.service';
import { Injectable } from '@nestjs/common';
import { AdminActor } from 'src/common/auth/admin-actor';
import { Principal } from 'src/common/auth/principal';
import { isTeamId, TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { AuditService } from 'src/modules/audit/audit.service';
import {
  DryRunRequestDto,
  DryRunResponseDto,
  PoliciesResponseDto,
  PolicySummaryDto,
  TeamOverrideDto,
} from 'src/modules/moderation/dto/moderation.dto';
import { ExternalModerationClient } from 'src/modules/moderation/external-moderation.client';
import { ModerationException } from 'src/modules/moderation/moderation-admin.exception';
import { blockMessage } from 'src/modules/moderation/moderation.exception';
import { runStage } from 'src/modules/moderation/moderation-pipeline';
import {
  ALL_ENDPOINTS,
  ModerationPolicyStore,
  resolvePolicy,
  ResolvedPolicy,
  TeamOverride,
} from 'src/modules/moderation/moderation-policy.store';
import { PlaceholderVault } from 'src/modules/moderation/placeholder-vault';
import { CompiledPolicy } from 'src/modules/moderation/moderation.types';
import { RouteTable } from 'src/modules/routing/route-table';
import { RoutingService } from 'src/modules/routing/routing.service';

const MAX_DRY_RUN_CHARS = 200_000;
const TEAM_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const ENDPOINT_KEY = /^(?:\*|[a-zA-Z0-9_\-.]{1,256})$/;

/** Admin use cases: policy listing, team overrides, dry runs. */
@Injectable()
export class ModerationAdminService {
  constructor(
    private readonly routing: RoutingService,
    private readonly store: ModerationPolicyStore,
    private readonly external: ExternalModerationClient,
    private readonly audit: AuditService,
  ) {}

  policies(): PoliciesResponseDto {
    const table = this.routing.table();
    return {
      default: table.moderation.defaultPolicy?.name ?? null,
      policies: [...table.moderation.policies.values()].map(summary),
      endpoints: table.endpoints.map((e) => ({ endpoint: e.name, policy: e.moderation?.name ?? null })),
    };
  }

  /** A team's overrides are that team's objects: shown to its members and to admins. */
  overrides(team: string, actor: Principal): TeamOverrideDto[] {
    const teamId = checkTeam(team);
    if (!TenancyPolicy.canReadPrivate(actor, teamId)) throw ModerationException.notFound('Team overrides');
    return this.store.list(teamId).map(toDto);
  }

  async putOverride(
    team: string,
    endpoint: string,
    body: unknown,
    actor: AdminActor,
  ): Promise<TeamOverrideDto> {
    const teamId = checkTeam(team);
    this.assertOwns(actor.principal, teamId);
    const table = this.routing.table();
    checkEndpoint(endpoint, table);
    const raw =
      body !== null && typeof body === 'object' && 'policy' in body && Object.keys(body).length === 1
        ? body.policy
        : body;
    if (raw === 'none' || raw === false) {
      TenancyPolicy.assertAdminOnly(actor.principal, "turning a team's guardrails off ('none')");
    }
    const before = this.store.list(teamId).find((o) => o.endpoint === endpoint);
    return this.audit.write(actor, async (m) => {
      const override = await this.store.put(teamId, endpoint, raw, table, actor.principal.id, m);
      return {
        result: toDto(override),
        event: overrideEvent('set', teamId, endpoint, before ? toDto(before) : null, raw),
      };
    });
  }

  async deleteOverride(team: string, endpoint: string, actor: AdminActor): Promise<void> {
    if (!ENDPOINT_KEY.test(endpoint)) throw ModerationException.notFound('Override');
    const teamId = checkTeam(team);
    this.assertOwns(actor.principal, teamId);
    const before = this.store.list(teamId).find((o) => o.endpoint === endpoint);
    await this.audit.write(actor, async (m) => {
      const removed = await this.store.remove(teamId, endpoint, m);
      if (!removed) throw ModerationException.notFound('Override');
      return {
        result: undefined,
        event: overrideEvent('remove', teamId, endpoint, before ? toDto(before) : null, null),
      };
    });
  }

  /** Only the team itself (or an admin) changes a team's guardrails; other teams' answer 404. */
  private assertOwns(actor: Principal, teamId: string): void {
    if (!TenancyPolicy.canChange(actor, teamId)) throw ModerationException.notFound('Team overrides');
  }

  async dryRun(body: DryRunRequestDto, caller: InvocationParent): Promise<DryRunResponseDto> {
    const input = checkDryRun(body);
    const table = this.routing.table();
    const resolved = this.resolve(input, table);
    const stage = input.stage ?? 'input';
    const policy = resolved.policy;
    if (!policy) {
      return {
        policy: null,
        source: resolved.source,
        stage,
        action: 'allow',
        text: input.text,
        blocked_message: null,
        checks: [],
      };
    }
    const controller = new AbortController();
    const outcome = await runStage(
      stage === 'input' ? policy.input : policy.output,
      stage,
      [{ text: input.text, role: 'user' }],
      {
        vault: new PlaceholderVault(),
        external: this.external.forCaller(caller),
        signal: controller.signal,
      },
    );
    return {
      policy: policy.name,
      source: resolved.source,
      stage,
      action: outcome.action,
      text: outcome.blockedBy ? null : outcome.texts[0],
      blocked_message: outcome.blockedBy ? blockMessage(outcome.blockedBy, stage) : null,
      checks: outcome.verdicts.map((v) => ({
        check: v.check,
        action: v.action,
        categories: [...new Set(v.detections.map((d) => d.category))],
        reasons: [...new Set(v.detections.map((d) => d.reason))],
        ...(v.score !== undefined ? { score: v.score } : {}),
        ...(v.error ? { error: v.error } : {}),
      })),
    };
  }

  private resolve(input: DryRunRequestDto, table: RouteTable): ResolvedPolicy {
    if (input.policy !== undefined) {
      const named = table.moderation.policies.get(input.policy);
      if (!named) throw ModerationException.notFound(`Policy '${clip(input.policy)}'`);
      return { policy: named, source: 'named' };
    }
    const entry = input.endpoint !== undefined ? table.get(input.endpoint) : undefined;
    if (!entry) throw ModerationException.notFound(`Endpoint '${clip(input.endpoint ?? '')}'`);
    const endpoint = RouteTable.pick(entry);
    return resolvePolicy(table, endpoint, input.team, this.store.overridesFor(input.team ?? null));
  }
}

function overrideEvent(
  verb: 'set' | 'remove',
  teamId: string,
  endpoint: string,
  before: unknown,
  after: unknown,
) {
  return {
    action: `moderation.override.${verb}`,
    targetType: 'moderation.override',
    targetId: `${teamId}/${endpoint}`,
    // The audit log's team column is a team id; overrides keyed by a team name stay with the actor's.
    ...(isTeamId(teamId) ? { teamId } : {}),
    before,
    after,
  };
}

function summary(policy: CompiledPolicy): PolicySummaryDto {
  return {
    name: policy.name,
    input: policy.input.map((c) => ({ name: c.name, type: c.type })),
    output: policy.output.map((c) => ({ name: c.name, type: c.type })),
    stream_window: policy.streamWindow,
  };
}

function toDto(o: TeamOverride): TeamOverrideDto {
  return {
    team: o.teamId,
    endpoint: o.endpoint,
    policy: o.raw,
    updated_by: o.updatedBy,
    updated_at: o.updatedAt.toISOString(),
  };
}

function checkTeam(team: string): string {
  if (!TEAM_ID.test(team)) {
    throw ModerationException.invalidRequest('Invalid team: 1–128 characters of letters, digits, _ . : @ -.');
  }
  return team;
}

function checkEndpoint(endpoint: string, table: RouteTable): void {
  if (endpoint === ALL_ENDPOINTS) return;
  if (!ENDPOINT_KEY.test(endpoint) || !table.get(endpoint)) {
    throw ModerationException.notFound(`Endpoint '${clip(endpoint)}'`);
  }
}

function checkDryRun(body: unknown): DryRunRequestDto {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw ModerationException.invalidPolicy(['body: expected a JSON object.']);
  }
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  const allowed = new Set(['text', 'stage', 'policy', 'endpoint', 'team']);
  for (const key of Object.keys(b)) if (!allowed.has(key)) problems.push(`${clip(key)}: unknown field.`);
  if (typeof b.text !== 'string' || b.text.length > MAX_DRY_RUN_CHARS) {
    problems.push(`text: a string of at most ${MAX_DRY_RUN_CHARS} characters is required.`);
  }
  if (b.stage !== undefined && b.stage !== 'input' && b.stage !== 'output')
    problems.push("stage: 'input' or 'output'.");
  for (const key of ['policy', 'endpoint', 'team'] as const) {
    if (b[key] !== undefined && (typeof b[key] !== 'string' || b[key].length > 256))
      problems.push(`${key}: a string.`);
  }
  if ((b.policy === undefined) === (b.endpoint === undefined))
    problems.push("give exactly one of 'policy' or 'endpoint'.");
  if (problems.length) throw ModerationException.invalidRequest(`Invalid dry run: ${problems.join(' ')}`);
  return b as unknown as DryRunRequestDto;
}

function clip(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}…` : value;
}
