import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { PriceEntity } from 'src/modules/limits/pricing/price.entity';
import { BudgetEntity } from 'src/modules/limits/entities/budget.entity';
import { LimitRuleEntity } from 'src/modules/limits/entities/limit-rule.entity';
import { LimitMetric, LimitRule, LimitScope } from 'src/modules/limits/limit-rules';
import { BudgetPeriod } from 'src/modules/limits/windows';

export interface BudgetRule {
  id: string;
  name: string;
  scope: LimitScope;
  subject: string | null;
  endpoint: string | null;
  period: BudgetPeriod;
  amountUsd: number;
  mode: 'hard' | 'soft';
  alertWebhookUrl: string | null;
  /** The owning team; null = global (admin-owned). */
  teamId: string | null;
}

export interface PriceVersion {
  id: string;
  provider: string;
  model: string;
  inputPerMillion: number;
  outputPerMillion: number;
  effectiveFrom: number;
}

export type LimitRuleInput = Omit<LimitRule, 'id' | 'source'>;
export type BudgetInput = Omit<BudgetRule, 'id'>;
export type PriceInput = Omit<PriceVersion, 'id'>;

/** Limits, budgets and price versions in PostgreSQL; the request path reads the in-memory snapshot only. */
@Injectable()
export class LimitsRepository {
  constructor(
    @InjectRepository(LimitRuleEntity) private readonly rules: Repository<LimitRuleEntity>,
    @InjectRepository(BudgetEntity) private readonly budgets: Repository<BudgetEntity>,
    @InjectRepository(PriceEntity) private readonly prices: Repository<PriceEntity>,
  ) {}

  async listRules(): Promise<LimitRule[]> {
    return (await this.rules.find({ order: { createdAt: 'ASC' } })).map(toRule);
  }

  async saveRule(input: LimitRuleInput, id: string = randomUUID(), m?: EntityManager): Promise<LimitRule> {
    const row = await (m ? m.getRepository(LimitRuleEntity) : this.rules).save({
      id,
      scope: input.scope,
      subject: input.subject,
      endpoint: input.endpoint,
      metric: input.metric,
      windowSeconds: input.windowMs === null ? null : input.windowMs / 1000,
      limitValue: String(input.limit),
      teamId: input.teamId ?? null,
    });
    return toRule(row);
  }

  async findRule(id: string): Promise<LimitRule | undefined> {
    const row = await this.rules.findOneBy({ id });
    return row ? toRule(row) : undefined;
  }

  async deleteRule(id: string, m?: EntityManager): Promise<boolean> {
    return ((await (m ? m.getRepository(LimitRuleEntity) : this.rules).delete({ id })).affected ?? 0) > 0;
  }

  async listBudgets(): Promise<BudgetRule[]> {
    return (await this.budgets.find({ order: { createdAt: 'ASC' } })).map(toBudget);
  }

  async findBudget(id: string): Promise<BudgetRule | undefined> {
    const row = await this.budgets.findOneBy({ id });
    return row ? toBudget(row) : undefined;
  }

  async saveBudget(input: BudgetInput, id: string = randomUUID(), m?: EntityManager): Promise<BudgetRule> {
    const row = await (m ? m.getRepository(BudgetEntity) : this.budgets).save({
      id,
      name: input.name,
      scope: input.scope,
      subject: input.subject,
      endpoint: input.endpoint,
      period: input.period,
      amountUsd: String(input.amountUsd),
      mode: input.mode,
      alertWebhookUrl: input.alertWebhookUrl,
      teamId: input.teamId,
    });
    return toBudget(row);
  }

  async deleteBudget(id: string, m?: EntityManager): Promise<boolean> {
    return ((await (m ? m.getRepository(BudgetEntity) : this.budgets).delete({ id })).affected ?? 0) > 0;
  }

  async listPrices(): Promise<PriceVersion[]> {
    return (await this.prices.find({ order: { effectiveFrom: 'ASC' } })).map(toPrice);
  }

  async findPrice(id: string): Promise<PriceVersion | undefined> {
    const row = await this.prices.findOneBy({ id });
    return row ? toPrice(row) : undefined;
  }

  async savePrice(input: PriceInput, m?: EntityManager): Promise<PriceVersion> {
    const row = await (m ? m.getRepository(PriceEntity) : this.prices).save({
      id: randomUUID(),
      provider: input.provider,
      model: input.model,
      inputPerMillion: String(input.inputPerMillion),
      outputPerMillion: String(input.outputPerMillion),
      effectiveFrom: new Date(input.effectiveFrom),
    });
    return toPrice(row);
  }

  async deletePrice(id: string, m?: EntityManager): Promise<boolean> {
    return ((await (m ? m.getRepository(PriceEntity) : this.prices).delete({ id })).affected ?? 0) > 0;
  }
}

function toRule(row: LimitRuleEntity): LimitRule {
  return {
    id: row.id,
    source: 'admin',
    scope: row.scope as LimitScope,
    subject: row.subject,
    endpoint: row.endpoint,
    metric: row.metric as LimitMetric,
    windowMs: row.windowSeconds === null ? null : row.windowSeconds * 1000,
    limit: Number(row.limitValue),
    teamId: row.teamId,
  };
}

function toBudget(row: BudgetEntity): BudgetRule {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope as LimitScope,
    subject: row.subject,
    endpoint: row.endpoint,
    period: row.period as BudgetPeriod,
    amountUsd: Number(row.amountUsd),
    mode: row.mode as 'hard' | 'soft',
    alertWebhookUrl: row.alertWebhookUrl,
    teamId: row.teamId,
  };
}

function toPrice(row: PriceEntity): PriceVersion {
  return {
    id: row.id,
    provider: row.provider,
    model: row.model,
    inputPerMillion: Number(row.inputPerMillion),
    outputPerMillion: Number(row.outputPerMillion),
    effectiveFrom: new Date(row.effectiveFrom).getTime(),
  };
}
