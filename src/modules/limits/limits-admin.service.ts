import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { AdminActor } from 'src/common/auth/admin-actor';
import { Principal } from 'src/common/auth/principal';
import { isTeamId, OwnerTeam, TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { AuditService } from 'src/modules/audit/audit.service';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { DEFAULT_PRICES, DEFAULT_PRICES_AS_OF } from 'src/modules/limits/pricing/price-catalog';
import {
  BudgetDto,
  budgetView,
  LimitRuleDto,
  limitUsageView,
  limitView,
  PriceDto,
  priceView,
  statusView,
  toLimitRuleInput,
} from 'src/modules/limits/dto/limits.dto';
import { LimitsCatalogService } from 'src/modules/limits/limits-catalog.service';
import { BudgetRule, LimitsRepository } from 'src/modules/limits/limits.repository';
import { LimitRule, LimitScope } from 'src/modules/limits/limit-rules';
import { LimitsService } from 'src/modules/limits/limits.service';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';

/** Admin use cases of limits, budgets and prices: every write reloads all replicas' snapshots. */
@Injectable()
export class LimitsAdminService {
  constructor(
    private readonly repository: LimitsRepository,
    private readonly catalog: LimitsCatalogService,
    private readonly limits: LimitsService,
    private readonly holder: RouteTableHolder,
    private readonly audit: AuditService,
    private readonly http: UpstreamHttpClient,
  ) {}

  listLimits(actor: Principal) {
    return this.visibleRules(actor).map(limitView);
  }

  /**
   * The live counters of the limits the caller may see (the same ownership rules as the list): the
   * count in the current window and when it resets. A rule that counts each key, principal, team or
   * endpoint separately has one counter per subject: `limit_id` and `subject` read one of them; listed
   * without a subject, its usage is null.
   */
  async limitUsage(actor: Principal, query: { limit_id?: string; subject?: string }) {
    let rules = this.visibleRules(actor);
    if (query.limit_id !== undefined) {
      rules = rules.filter((r) => r.id === query.limit_id);
      if (rules.length === 0) notFound('limit', query.limit_id);
    } else if (query.subject !== undefined) {
      throw GatewayException.invalid("'subject' goes with 'limit_id'", 'subject');
    }
    const out = [];
    for (const rule of rules) {
      const subject = counterSubject(rule) ?? query.subject;
      const usage = subject === undefined ? undefined : await this.limits.ruleUsage(rule, subject);
      out.push(limitUsageView(rule, usage));
    }
    return out;
  }

  /**
   * Admin rules, then the YAML ones (read-only here: edit gateway.yaml). Limits and budgets are
   * private to their team: global ones (they bound every team) are shown to admins only.
   */
  private visibleRules(actor: Principal): LimitRule[] {
    const yaml = new Map<string, LimitRule>();
    if (TenancyPolicy.isAdmin(actor)) {
      for (const endpoint of this.holder.current.endpoints) {
        for (const rule of endpoint.limits?.rules ?? []) yaml.set(rule.id, rule);
      }
    }
    const own = this.catalog.rules.filter((r) => TenancyPolicy.canReadPrivate(actor, r.teamId ?? null));
    return [...own, ...yaml.values()];
  }

  async getLimit(id: string, actor: Principal) {
    return limitView(this.readable(actor, await this.repository.findRule(id), 'limit', id));
  }

  async createLimit(body: z.infer<typeof LimitRuleDto>, actor: AdminActor) {
    const owner = ownerOfNew(actor.principal, body);
    const rule = await this.audit.write(actor, async (m) => {
      const saved = await this.repository.saveRule(
        { ...toLimitRuleInput(body), teamId: owner },
        undefined,
        m,
      );
      return { result: saved, event: event('limit', 'create', saved.id, owner, null, limitView(saved)) };
    });
    await this.catalog.changed();
    return limitView(rule);
  }

  async updateLimit(id: string, body: z.infer<typeof LimitRuleDto>, actor: AdminActor) {
    const current = this.changeable(actor.principal, await this.repository.findRule(id), 'limit', id);
    const owner = ownerOfNew(actor.principal, body, current.teamId ?? null);
    const rule = await this.audit.write(actor, async (m) => {
      const saved = await this.repository.saveRule({ ...toLimitRuleInput(body), teamId: owner }, id, m);
      return {
        result: saved,
        event: event('limit', 'update', id, owner, limitView(current), limitView(saved)),
      };
    });
    await this.catalog.changed();
    return limitView(rule);
  }

  async deleteLimit(id: string, actor: AdminActor): Promise<void> {
    const current = this.changeable(actor.principal, await this.repository.findRule(id), 'limit', id);
    await this.audit.write(actor, async (m) => {
      if (!(await this.repository.deleteRule(id, m))) notFound('limit', id);
      return {
        result: undefined,
        event: event('limit', 'delete', id, current.teamId ?? null, limitView(current), null),
      };
    });
    await this.catalog.changed();
  }

  listBudgets(actor: Principal) {
    return this.catalog.budgets
      .filter((b) => TenancyPolicy.canReadPrivate(actor, b.teamId))
      .map((b) => budgetView(b, (url) => TenancyPolicy.secretFor(actor, url)));
  }

  async getBudget(id: string, actor: Principal) {
    const budget = this.readable(actor, await this.repository.findBudget(id), 'budget', id);
    return budgetView(budget, (url) => TenancyPolicy.secretFor(actor, url));
  }

  async saveBudget(body: z.infer<typeof BudgetDto>, actor: AdminActor, id?: string) {
    const current =
      id === undefined
        ? undefined
        : this.changeable(actor.principal, await this.repository.findBudget(id), 'budget', id);
    const owner = ownerOfNew(actor.principal, body, current?.teamId ?? null);
    if (body.alert_webhook_url) {
      // The webhook is called from the gateway: the same allow-list as API-created upstreams.
      const refused = await this.http.egress.checkUrl(body.alert_webhook_url);
      if (refused) {
        throw GatewayException.invalid(`alert_webhook_url refused: ${refused}.`, 'alert_webhook_url');
      }
    }
    const input = {
      name: body.name,
      scope: body.scope,
      subject: body.scope === 'endpoint' ? (body.subject ?? body.endpoint ?? null) : (body.subject ?? null),
      endpoint: body.endpoint ?? null,
      period: body.period,
      amountUsd: body.amount_usd,
      mode: body.mode,
      alertWebhookUrl: body.alert_webhook_url ?? null,
      teamId: owner,
    };
    const budget = await this.audit.write(actor, async (m) => {
      const saved = await this.repository.saveBudget(input, id, m);
      const action = current ? 'update' : 'create';
      return {
        result: saved,
        event: event(
          'budget',
          action,
          saved.id,
          owner,
          current ? budgetView(current) : null,
          budgetView(saved),
        ),
      };
    });
    await this.catalog.changed();
    return budgetView(budget);
  }

  async deleteBudget(id: string, actor: AdminActor): Promise<void> {
    const current = this.changeable(actor.principal, await this.repository.findBudget(id), 'budget', id);
    await this.audit.write(actor, async (m) => {
      if (!(await this.repository.deleteBudget(id, m))) notFound('budget', id);
      return {
        result: undefined,
        event: event('budget', 'delete', id, current.teamId, budgetView(current), null),
      };
    });
    await this.catalog.changed();
  }

  async budgetStatus(id: string, subject: string | undefined, actor: Principal) {
    const budget = this.readable(
      actor,
      this.catalog.budgets.find((b) => b.id === id) ?? (await this.repository.findBudget(id)),
      'budget',
      id,
    );
    return statusView(budget, await this.limits.budgetStatus(budget, subject));
  }

  /** Every budget that has one counter (a subject, or global); per-subject budgets need `/{id}/status?subject=`. */
  async allStatus(actor: Principal) {
    const out = [];
    for (const budget of this.catalog.budgets) {
      if (!TenancyPolicy.canReadPrivate(actor, budget.teamId)) continue;
      if (budget.scope !== 'global' && budget.subject === null) continue;
      out.push(statusView(budget, await this.limits.budgetStatus(budget, undefined)));
    }
    return out;
  }

  listPrices() {
    return {
      defaults_as_of: DEFAULT_PRICES_AS_OF,
      defaults: Object.entries(DEFAULT_PRICES).flatMap(([provider, models]) =>
        Object.entries(models).map(([model, p]) => ({
          provider,
          model,
          input_per_million: p.inputPerMillion,
          output_per_million: p.outputPerMillion,
        })),
      ),
      versions: this.catalog.prices.map(priceView),
    };
  }

  async getPrice(id: string) {
    return priceView((await this.repository.findPrice(id)) ?? notFound('price', id));
  }

  /** Prices are one global catalogue (admin-owned): writes need `billing.admin`, which only admins hold. */
  async createPrice(body: z.infer<typeof PriceDto>, actor: AdminActor) {
    const version = await this.audit.write(actor, async (m) => {
      const saved = await this.repository.savePrice(
        {
          provider: body.provider.toLowerCase(),
          model: body.model,
          inputPerMillion: body.input_per_million,
          outputPerMillion: body.output_per_million,
          effectiveFrom: body.effective_from ? Date.parse(body.effective_from) : Date.now(),
        },
        m,
      );
      return { result: saved, event: event('price', 'create', saved.id, null, null, priceView(saved)) };
    });
    await this.catalog.changed();
    return priceView(version);
  }

  async deletePrice(id: string, actor: AdminActor): Promise<void> {
    const current = (await this.repository.findPrice(id)) ?? notFound('price', id);
    await this.audit.write(actor, async (m) => {
      if (!(await this.repository.deletePrice(id, m))) notFound('price', id);
      return { result: undefined, event: event('price', 'delete', id, null, priceView(current), null) };
    });
    await this.catalog.changed();
  }

  private readable<T extends LimitRule | BudgetRule>(
    actor: Principal,
    item: T | undefined,
    what: string,
    id: string,
  ): T {
    return readableBy(actor, item, what, id);
  }

  /** A rule or budget the caller may change: readable (else 404) and owned (else 403). */
  private changeable<T extends LimitRule | BudgetRule>(
    actor: Principal,
    item: T | undefined,
    what: string,
    id: string,
  ): T {
    const found = readableBy(actor, item, what, id);
    TenancyPolicy.assertChange(actor, found.teamId ?? null, `${what} '${id}'`);
    return found;
  }

  /** The price in force for a model at a time (default now): what the gateway would charge. */
  priceInForce(provider: string | undefined, model: string | undefined, at: string | undefined) {
    if (!provider || !model) throw GatewayException.invalid("give 'provider' and 'model'", 'model');
    const when = at === undefined ? Date.now() : Date.parse(at);
    if (Number.isNaN(when)) throw GatewayException.invalid("'at' must be an ISO 8601 time", 'at');
    const found = this.catalog.price(provider.toLowerCase(), model, undefined, when);
    if (!found) notFound('price for model', `${provider}/${model}`);
    return {
      provider: provider.toLowerCase(),
      model,
      at: new Date(when).toISOString(),
      source: found.source,
      input_per_million: found.price.inputPerMillion,
      output_per_million: found.price.outputPerMillion,
    };
  }
}

/** The one subject a rule counts for, or undefined when it keeps a counter per key, principal, team or endpoint. */
function counterSubject(rule: LimitRule): string | undefined {
  if (rule.scope === 'global') return '*';
  if (rule.subject !== null) return rule.subject;
  if (rule.scope === 'endpoint' && rule.endpoint !== null) return rule.endpoint;
  return undefined;
}

/** A rule or budget the caller may read (other teams' and, for non-admins, global ones answer 404). */
function readableBy<T extends { teamId?: string | null }>(
  actor: Principal,
  item: T | undefined,
  what: string,
  id: string,
): T {
  if (!item || !TenancyPolicy.canReadPrivate(actor, item.teamId ?? null)) notFound(what, id);
  return item;
}

/**
 * The owner of a new (or replaced) rule or budget. Admins may name any team with `team_id`; a
 * team-scoped rule defaults to its subject's team, anything else to global. Non-admins may only
 * bound their own team (`scope: team` with their team as subject): a rule on a key, a principal, an
 * endpoint or everyone reaches other tenants.
 */
function ownerOfNew(
  actor: Principal,
  body: { scope: LimitScope; subject?: string | null; team_id?: string | null },
  existing?: OwnerTeam,
): OwnerTeam {
  const subjectTeam = body.scope === 'team' && isTeamId(body.subject) ? body.subject : null;
  if (TenancyPolicy.isAdmin(actor)) {
    return body.team_id !== undefined ? body.team_id : (subjectTeam ?? existing ?? null);
  }
  if (body.team_id !== undefined && body.team_id !== actor.teamId) {
    TenancyPolicy.assertAdminOnly(actor, "a limit or budget for another team ('team_id')");
  }
  if (subjectTeam === null || subjectTeam !== actor.teamId) {
    TenancyPolicy.assertAdminOnly(
      actor,
      'a limit or budget beyond your own team (anything but scope team, subject your team)',
    );
  }
  return TenancyPolicy.ownerForNew(actor, subjectTeam);
}

function event(
  what: 'limit' | 'budget' | 'price',
  action: 'create' | 'update' | 'delete',
  id: string,
  teamId: OwnerTeam,
  before: unknown,
  after: unknown,
) {
  return {
    action: `limits.${what}.${action}`,
    targetType: `limits.${what}`,
    targetId: id,
    teamId,
    before,
    after,
  };
}

function notFound(what: string, id: string): never {
  throw new GatewayException(404, GatewayErrorCode.ObjectNotFound, `No ${what} '${id.slice(0, 300)}'.`);
}
