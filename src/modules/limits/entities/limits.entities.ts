import { PriceEntity } from 'src/modules/limits/pricing/price.entity';
import { BudgetEntity } from 'src/modules/limits/entities/budget.entity';
import { LimitRuleEntity } from 'src/modules/limits/entities/limit-rule.entity';

export const LIMITS_ENTITIES = [LimitRuleEntity, BudgetEntity, PriceEntity];
