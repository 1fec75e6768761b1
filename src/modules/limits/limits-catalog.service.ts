import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { LimitRule, Price } from 'src/modules/limits/limit-rules';
import { TokenCounter } from 'src/modules/tokens/token-counter';
import { LimitsInvalidationService } from 'src/modules/limits/limits-invalidation.service';
import { BudgetRule, LimitsRepository, PriceVersion } from 'src/modules/limits/limits.repository';
import { DEFAULT_PRICE_MAPS, matchModel, priceFamily } from 'src/modules/limits/pricing/price-catalog';

export interface PriceLookup {
  price: Price;
  source: 'endpoint' | 'catalog' | 'default';
}

/**
 * The admin-set limits, budgets and price versions, held in memory (the request path never reads the
 * database). Reloaded on every replica when any replica changes them (LISTEN/NOTIFY).
 */
@Injectable()
export class LimitsCatalogService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Limits');
  rules: readonly LimitRule[] = [];
  budgets: readonly BudgetRule[] = [];
  prices: readonly PriceVersion[] = [];
  /** `family/model` → versions, newest effective date first. */
  private priceIndex = new Map<string, Map<string, PriceVersion[]>>();
  private loads = 0;

  constructor(
    private readonly repository: LimitsRepository,
    private readonly invalidation: LimitsInvalidationService,
    private readonly tokens: TokenCounter,
  ) {}

  private warmed = false;

  async onApplicationBootstrap(): Promise<void> {
    await this.invalidation.follow(
      () => this.reload(),
      (error) =>
        this.logger.warn(
          `could not reload limits: ${error instanceof Error ? error.message : String(error)}`,
        ),
    );
  }

  async reload(): Promise<void> {
    const load = ++this.loads;
    const [rules, budgets, prices] = await Promise.all([
      this.repository.listRules(),
      this.repository.listBudgets(),
      this.repository.listPrices(),
    ]);
    if (load !== this.loads) return; // a newer reload started meanwhile
    const index = new Map<string, Map<string, PriceVersion[]>>();
    for (const version of prices) {
      const family = priceFamily(version.provider);
      let models = index.get(family);
      if (!models) index.set(family, (models = new Map<string, PriceVersion[]>()));
      const list = models.get(version.model) ?? [];
      list.push(version);
      list.sort((a, b) => b.effectiveFrom - a.effectiveFrom);
      models.set(version.model, list);
    }
    this.rules = rules;
    this.budgets = budgets;
    this.prices = prices;
    this.priceIndex = index;
    if (!this.warmed && (budgets.length > 0 || rules.some((r) => r.metric === 'tokens'))) {
      // Budgets and token limits tokenize prompts: load the BPE now (it blocks the event loop for a moment,
      // ~1 s) rather than in the middle of the first such request, with other requests in flight.
      this.warmed = true;
      setTimeout(
        () => void this.tokens.counterFor({ encoding: 'o200k_base' }).catch(() => undefined),
        0,
      ).unref();
    }
  }

  /** Applies a local change at once and tells the other replicas. */
  async changed(): Promise<void> {
    await this.reload();
    await this.invalidation.publish();
  }

  /** The price in force at `at` for a model: the endpoint override, else the newest admin version, else the default. */
  price(
    provider: string,
    model: string | undefined,
    override: Price | undefined,
    at: number,
  ): PriceLookup | undefined {
    if (override) return { price: override, source: 'endpoint' };
    if (!model) return undefined;
    const family = priceFamily(provider);
    const versions = this.priceIndex.get(family);
    if (versions) {
      const list = matchModel(versions, model);
      const current = list?.find((v) => v.effectiveFrom <= at);
      if (current) return { price: current, source: 'catalog' };
    }
    const defaults = DEFAULT_PRICE_MAPS.get(family);
    const fallback = defaults ? matchModel(defaults, model) : undefined;
    return fallback ? { price: fallback, source: 'default' } : undefined;
  }
}
