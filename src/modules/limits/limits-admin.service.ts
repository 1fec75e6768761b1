import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { DEFAULT_PRICES, DEFAULT_PRICES_AS_OF } from 'src/modules/limits/pricing/price-catalog';
import {
  BudgetDto,
  budgetView,
  LimitRuleDto,
  limitView,
  PriceDto,
  priceView,
  statusView,
  toLimitRuleInput,
} from 'src/modules/limits/dto/limits.dto';
import { LimitsCatalogService } from 'src/modules/limits/limits-catalog.service';
import { LimitsRepository } from 'src/modules/limits/limits.repository';
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
  ) {}

  /** Admin rules, then the YAML ones (read-only here: edit gateway.yaml). */
  listLimits() {
    const yaml = new Map<string, ReturnType<typeof limitView>>();
    for (const endpoint of this.holder.current.endpoints) {
      for (const rule of endpoint.limits?.rules ?? []) yaml.set(rule.id, limitView(rule));
    }
    return [...this.catalog.rules.map(limitView), ...yaml.values()];
  }

  async getLimit(id: string) {
    return limitView((await this.repository.findRule(id)) ?? notFound('limit', id));
  }

  async createLimit(body: z.infer<typeof LimitRuleDto>) {
    const rule = await this.repository.saveRule(toLimitRuleInput(body));
    await this.catalog.changed();
    return limitView(rule);
  }

  async updateLimit(id: string, body: z.infer<typeof LimitRuleDto>) {
    if (!(await this.repository.findRule(id))) notFound('limit', id);
    const rule = await this.repository.saveRule(toLimitRuleInput(body), id);
    await this.catalog.changed();
    return limitView(rule);
  }

  async deleteLimit(id: string): Promise<void> {
    if (!(await this.repository.deleteRule(id))) notFound('limit', id);
    await this.catalog.changed();
  }

  listBudgets() {
    return this.catalog.budgets.map(budgetView);
  }

  async getBudget(id: string) {
    return budgetView((await this.repository.findBudget(id)) ?? notFound('budget', id));
  }

  async saveBudget(body: z.infer<typeof BudgetDto>, id?: string) {
    if (id !== undefined && !(await this.repository.findBudget(id))) notFound('budget', id);
    const budget = await this.repository.saveBudget(
      {
        name: body.name,
        scope: body.scope,
        subject: body.scope === 'endpoint' ? (body.subject ?? body.endpoint ?? null) : (body.subject ?? null),
        endpoint: body.endpoint ?? null,
        period: body.period,
        amountUsd: body.amount_usd,
        mode: body.mode,
        alertWebhookUrl: body.alert_webhook_url ?? null,
      },
      id,
    );
    await this.catalog.changed();
    return budgetView(budget);
  }

  async deleteBudget(id: string): Promise<void> {
    if (!(await this.repository.deleteBudget(id))) notFound('budget', id);
    await this.catalog.changed();
  }

  async budgetStatus(id: string, subject: string | undefined) {
    const budget = this.catalog.budgets.find((b) => b.id === id) ?? (await this.repository.findBudget(id));
    if (!budget) notFound('budget', id);
    return statusView(budget, await this.limits.budgetStatus(budget, subject));
  }

  /** Every budget that has one counter (a subject, or global); per-subject budgets need `/{id}/status?subject=`. */
  async allStatus() {
    const out = [];
    for (const budget of this.catalog.budgets) {
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

  async createPrice(body: z.infer<typeof PriceDto>) {
    const version = await this.repository.savePrice({
      provider: body.provider.toLowerCase(),
      model: body.model,
      inputPerMillion: body.input_per_million,
      outputPerMillion: body.output_per_million,
      effectiveFrom: body.effective_from ? Date.parse(body.effective_from) : Date.now(),
    });
    await this.catalog.changed();
    return priceView(version);
  }

  async deletePrice(id: string): Promise<void> {
    if (!(await this.repository.deletePrice(id))) notFound('price', id);
    await this.catalog.changed();
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

function notFound(what: string, id: string): never {
  throw new GatewayException(404, GatewayErrorCode.ObjectNotFound, `No ${what} '${id.slice(0, 300)}'.`);
}
