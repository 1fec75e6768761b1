import { z } from 'zod';
import { LIMIT_METRICS, LIMIT_SCOPES, LimitRule } from 'src/modules/limits/limit-rules';
import { BudgetRule, PriceVersion } from 'src/modules/limits/limits.repository';
import { BUDGET_PERIODS, RATE_WINDOWS, WINDOW_MS } from 'src/modules/limits/windows';
import { BudgetStatus, RuleUsage } from 'src/modules/limits/limits.service';

const name = z.string().min(1).max(256);

export const LimitRuleDto = z
  .object({
    scope: z.enum(LIMIT_SCOPES),
    /** One key / principal / team id (or endpoint name for `scope: endpoint`); omitted = each separately. */
    subject: name.nullable().optional(),
    /** Only requests to this endpoint; omitted = all endpoints. */
    endpoint: name.nullable().optional(),
    metric: z.enum(LIMIT_METRICS),
    window: z.enum(RATE_WINDOWS).optional(),
    window_seconds: z.number().int().positive().max(31_536_000).optional(),
    // 0 blocks: no request (or token) passes the rule.
    limit: z.number().int().min(0).max(1e15),
    /** The owning team (admins only; default: the subject of a team-scoped rule, else global). */
    team_id: z.uuid().nullable().optional(),
  })
  .strict()
  .refine((b) => b.metric === 'concurrency' || b.window !== undefined || b.window_seconds !== undefined, {
    message: "give 'window' (second, minute, hour, day) or 'window_seconds' for request and token limits",
    path: ['window'],
  })
  .refine((b) => b.metric !== 'concurrency' || (b.window === undefined && b.window_seconds === undefined), {
    message: 'concurrency caps have no window',
    path: ['window'],
  })
  .refine((b) => b.metric !== 'concurrency' || ['key', 'principal', 'team'].includes(b.scope), {
    message: 'concurrency caps are per key, principal or team',
    path: ['scope'],
  })
  .refine((b) => b.scope !== 'global' || (b.subject ?? null) === null, {
    message: 'a global limit has no subject',
    path: ['subject'],
  });

export const BudgetDto = z
  .object({
    name: z.string().min(1).max(128),
    scope: z.enum(LIMIT_SCOPES),
    subject: name.nullable().optional(),
    endpoint: name.nullable().optional(),
    period: z.enum(BUDGET_PERIODS),
    amount_usd: z.number().min(0).max(1e9),
    mode: z.enum(['hard', 'soft']).default('hard'),
    alert_webhook_url: z
      .string()
      .max(2048)
      .regex(/^https?:\/\//, 'must be an http:// or https:// URL')
      .nullable()
      .optional(),
    /** The owning team (admins only; default: the subject of a team-scoped budget, else global). */
    team_id: z.uuid().nullable().optional(),
  })
  .strict()
  .refine((b) => b.scope !== 'global' || (b.subject ?? null) === null, {
    message: 'a global budget has no subject',
    path: ['subject'],
  });

export const PriceDto = z
  .object({
    provider: z.string().min(1).max(64),
    model: z.string().min(1).max(256),
    input_per_million: z.number().min(0).max(1e6),
    output_per_million: z.number().min(0).max(1e6),
    /** ISO 8601; default now. The newest version whose date has come applies. */
    effective_from: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export const StatusQuery = z.object({ subject: name.optional() }).strict();
export const UsageQuery = z.object({ limit_id: name.optional(), subject: name.optional() }).strict();

export function toLimitRuleInput(body: z.infer<typeof LimitRuleDto>): Omit<LimitRule, 'id' | 'source'> {
  return {
    scope: body.scope,
    subject: body.scope === 'endpoint' ? (body.subject ?? body.endpoint ?? null) : (body.subject ?? null),
    endpoint: body.endpoint ?? null,
    metric: body.metric,
    windowMs:
      body.metric === 'concurrency'
        ? null
        : body.window_seconds !== undefined
          ? body.window_seconds * 1000
          : WINDOW_MS[body.window!],
    limit: body.limit,
  };
}

export function limitView(rule: LimitRule) {
  return {
    id: rule.id,
    source: rule.source,
    team_id: rule.teamId ?? null,
    scope: rule.scope,
    subject: rule.subject,
    endpoint: rule.endpoint,
    metric: rule.metric,
    window_seconds: rule.windowMs === null ? null : rule.windowMs / 1000,
    limit: rule.limit,
  };
}

/** A limit with its live counter; `usage` absent for a per-subject rule read without a subject. */
export function limitUsageView(rule: LimitRule, usage: RuleUsage | undefined) {
  return {
    limit_id: rule.id,
    source: rule.source,
    scope: rule.scope,
    subject: usage?.subject ?? null,
    endpoint: rule.endpoint,
    metric: rule.metric,
    window_seconds: rule.windowMs === null ? null : rule.windowMs / 1000,
    limit: rule.limit,
    used: usage?.used ?? null,
    remaining: usage ? Math.max(0, rule.limit - usage.used) : null,
    window_start: usage?.windowStart ?? null,
    resets_at: usage?.resetsAt ?? null,
  };
}

/** A budget as its reader may see it: the alert webhook (a bearer secret in its URL) only for admins. */
export function budgetView(
  budget: BudgetRule,
  webhook: (url: string | null) => string | null = (url) => url,
) {
  return {
    id: budget.id,
    team_id: budget.teamId,
    name: budget.name,
    scope: budget.scope,
    subject: budget.subject,
    endpoint: budget.endpoint,
    period: budget.period,
    amount_usd: budget.amountUsd,
    mode: budget.mode,
    alert_webhook_url: webhook(budget.alertWebhookUrl),
  };
}

export function statusView(budget: BudgetRule, status: BudgetStatus) {
  return {
    budget_id: budget.id,
    name: budget.name,
    mode: budget.mode,
    period: budget.period,
    subject: status.subject,
    amount_usd: budget.amountUsd,
    spent_usd: round(status.spentUsd),
    reserved_usd: round(status.reservedUsd),
    remaining_usd: round(status.remainingUsd),
    window_start: status.windowStart,
    resets_at: status.resetsAt,
  };
}

export function priceView(version: PriceVersion) {
  return {
    id: version.id,
    provider: version.provider,
    model: version.model,
    input_per_million: version.inputPerMillion,
    output_per_million: version.outputPerMillion,
    effective_from: new Date(version.effectiveFrom).toISOString(),
  };
}

function round(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}

const nullableString = { type: 'string', nullable: true };

/** OpenAPI forms of the views above (the web console's typed client reads them); the mappers decide. */
export const LIMIT_VIEW = {
  type: 'object',
  required: ['id', 'source', 'team_id', 'scope', 'subject', 'endpoint', 'metric', 'window_seconds', 'limit'],
  properties: {
    id: { type: 'string' },
    source: { type: 'string', enum: ['yaml', 'mlflow', 'admin'] },
    team_id: nullableString,
    scope: { type: 'string', enum: [...LIMIT_SCOPES] },
    subject: nullableString,
    endpoint: nullableString,
    metric: { type: 'string', enum: [...LIMIT_METRICS] },
    window_seconds: { type: 'number', nullable: true, description: 'null for concurrency caps' },
    limit: { type: 'number' },
  },
};

export const LIMIT_USAGE_VIEW = {
  type: 'object',
  required: [
    'limit_id',
    'source',
    'scope',
    'subject',
    'endpoint',
    'metric',
    'window_seconds',
    'limit',
    'used',
    'remaining',
    'window_start',
    'resets_at',
  ],
  properties: {
    limit_id: { type: 'string' },
    source: { type: 'string', enum: ['yaml', 'mlflow', 'admin'] },
    scope: { type: 'string', enum: [...LIMIT_SCOPES] },
    subject: {
      ...nullableString,
      description:
        "the counter's subject ('*' for a global limit); null: one counter per subject, ask with limit_id and subject",
    },
    endpoint: nullableString,
    metric: { type: 'string', enum: [...LIMIT_METRICS] },
    window_seconds: { type: 'number', nullable: true, description: 'null for concurrency caps' },
    limit: { type: 'number' },
    used: {
      type: 'number',
      nullable: true,
      description:
        'requests or tokens counted in the current window; requests in flight for a concurrency cap',
    },
    remaining: { type: 'number', nullable: true },
    window_start: { type: 'string', format: 'date-time', nullable: true },
    resets_at: { type: 'string', format: 'date-time', nullable: true },
  },
};

export const BUDGET_VIEW = {
  type: 'object',
  required: [
    'id',
    'team_id',
    'name',
    'scope',
    'subject',
    'endpoint',
    'period',
    'amount_usd',
    'mode',
    'alert_webhook_url',
  ],
  properties: {
    id: { type: 'string' },
    team_id: nullableString,
    name: { type: 'string' },
    scope: { type: 'string', enum: [...LIMIT_SCOPES] },
    subject: nullableString,
    endpoint: nullableString,
    period: { type: 'string', enum: [...BUDGET_PERIODS] },
    amount_usd: { type: 'number' },
    mode: { type: 'string', enum: ['hard', 'soft'] },
    alert_webhook_url: { ...nullableString, description: 'admins only; null for other readers' },
  },
};

export const BUDGET_STATUS_VIEW = {
  type: 'object',
  required: [
    'budget_id',
    'name',
    'mode',
    'period',
    'subject',
    'amount_usd',
    'spent_usd',
    'reserved_usd',
    'remaining_usd',
    'window_start',
    'resets_at',
  ],
  properties: {
    budget_id: { type: 'string' },
    name: { type: 'string' },
    mode: { type: 'string', enum: ['hard', 'soft'] },
    period: { type: 'string', enum: [...BUDGET_PERIODS] },
    subject: { type: 'string' },
    amount_usd: { type: 'number' },
    spent_usd: { type: 'number' },
    reserved_usd: { type: 'number' },
    remaining_usd: { type: 'number' },
    window_start: { type: 'string', format: 'date-time' },
    resets_at: { type: 'string', format: 'date-time' },
  },
};
