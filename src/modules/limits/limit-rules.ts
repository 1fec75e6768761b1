import { z } from 'zod';
import { EndpointLimit } from 'src/config/gateway-config.types';
import { renewalPeriodSeconds } from 'src/config/gateway-config.loader';
import { RateWindow, WINDOW_MS } from 'src/modules/limits/windows';

export const LIMIT_SCOPES = ['key', 'principal', 'team', 'endpoint', 'global'] as const;
export type LimitScope = (typeof LIMIT_SCOPES)[number];
export const LIMIT_METRICS = ['requests', 'tokens', 'concurrency'] as const;
export type LimitMetric = (typeof LIMIT_METRICS)[number];

/**
 * One limit. `scope` says what one counter is kept for: each API key, principal or team separately, each
 * endpoint (all its callers together), or one global counter. `subject` narrows the rule to one key,
 * principal or team (null: every one gets its own counter of this size); `endpoint` narrows it to the
 * requests of one endpoint (null: all endpoints).
 */
export interface LimitRule {
  id: string;
  source: 'yaml' | 'mlflow' | 'admin';
  scope: LimitScope;
  subject: string | null;
  endpoint: string | null;
  metric: LimitMetric;
  /** Fixed window length in ms; null for concurrency caps. */
  windowMs: number | null;
  limit: number;
  /** The owning team of an admin-set rule; null or absent = global (YAML rules are). */
  teamId?: string | null;
}

/** USD per million tokens. */
export interface Price {
  inputPerMillion: number;
  outputPerMillion: number;
}

/** What gateway.yaml says about limits and prices of one endpoint (top-level rules included). */
export interface EndpointLimitsConfig {
  rules: readonly LimitRule[];
  /** `gatehouse.pricing`: overrides the catalog for this endpoint. */
  price?: Price;
}

const count = z.number().int().positive().max(1e15);
const itemSchema = z
  .object({
    per: z.enum(LIMIT_SCOPES),
    key: z.string().min(1).optional(),
    principal: z.string().min(1).optional(),
    team: z.string().min(1).optional(),
    endpoint: z.string().min(1).optional(),
    requests_per_second: count.optional(),
    requests_per_minute: count.optional(),
    requests_per_hour: count.optional(),
    requests_per_day: count.optional(),
    tokens_per_minute: count.optional(),
    tokens_per_hour: count.optional(),
    tokens_per_day: count.optional(),
    concurrent: count.optional(),
  })
  .strict();
type LimitItem = z.infer<typeof itemSchema>;

const METRIC_FIELDS: [keyof LimitItem, LimitMetric, RateWindow | null][] = [
  ['requests_per_second', 'requests', 'second'],
  ['requests_per_minute', 'requests', 'minute'],
  ['requests_per_hour', 'requests', 'hour'],
  ['requests_per_day', 'requests', 'day'],
  ['tokens_per_minute', 'tokens', 'minute'],
  ['tokens_per_hour', 'tokens', 'hour'],
  ['tokens_per_day', 'tokens', 'day'],
  ['concurrent', 'concurrency', null],
];

const priceSchema = z
  .object({ input_per_million: z.number().min(0).max(1e6), output_per_million: z.number().min(0).max(1e6) })
  .strict();

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ');
}

function expand(
  item: LimitItem,
  idBase: string,
  endpoint: string | null,
  problems: string[],
  where: string,
): LimitRule[] {
  const subject =
    item.per === 'key'
      ? item.key
      : item.per === 'principal'
        ? item.principal
        : item.per === 'team'
          ? item.team
          : undefined;
  const stray = (['key', 'principal', 'team'] as const).filter(
    (k) => item[k] !== undefined && k !== item.per,
  );
  if (stray.length > 0) problems.push(`${where}: '${stray[0]}' only goes with 'per: ${stray[0]}'.`);
  const rules: LimitRule[] = [];
  const known = problems.length;
  for (const [field, metric, window] of METRIC_FIELDS) {
    const limit = item[field];
    if (typeof limit !== 'number') continue;
    if (metric === 'concurrency' && item.per !== 'key' && item.per !== 'principal' && item.per !== 'team') {
      problems.push(`${where}: 'concurrent' caps are per key, principal or team.`);
      continue;
    }
    rules.push({
      id: `${idBase}:${field}`,
      source: 'yaml',
      scope: item.per,
      subject: subject ?? null,
      endpoint,
      metric,
      windowMs: window ? WINDOW_MS[window] : null,
      limit,
    });
  }
  if (rules.length === 0 && problems.length === known)
    problems.push(`${where}: give at least one of ${METRIC_FIELDS.map((f) => f[0]).join(', ')}.`);
  return rules;
}

function parseItems(value: unknown, where: string, problems: string[]): [number, LimitItem][] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push(`${where}: gatehouse.limits must be a list.`);
    return [];
  }
  const items: [number, LimitItem][] = [];
  value.forEach((raw, i) => {
    const parsed = itemSchema.safeParse(raw);
    if (parsed.success) items.push([i, parsed.data]);
    else problems.push(`${where}: gatehouse.limits[${i}]: ${describe(parsed.error)}`);
  });
  return items;
}

/** Top-level `gatehouse.limits`: items may name an `endpoint`; ids are stable per position. */
export function parseTopLevelLimits(extensions: Record<string, unknown>, problems: string[]): LimitRule[] {
  return parseItems(extensions.limits, '(top level)', problems).flatMap(([i, item]) =>
    expand(item, `yaml:*:${i}`, item.endpoint ?? null, problems, `(top level) gatehouse.limits[${i}]`),
  );
}

/**
 * An endpoint's rules: the top-level ones, its MLflow `limit:` (counted per principal, not per client
 * address) and its own `gatehouse.limits` (which apply to this endpoint only), plus its price override.
 */
export function endpointLimits(
  topLevel: readonly LimitRule[],
  name: string,
  mlflowLimit: EndpointLimit | null,
  extensions: Record<string, unknown>,
  where: string,
  problems: string[],
): EndpointLimitsConfig {
  const rules = topLevel.filter((r) => r.endpoint === null || r.endpoint === name);
  const mlflow = mlflowRule(name, mlflowLimit, where, problems);
  if (mlflow) rules.push(mlflow);
  parseItems(extensions.limits, where, problems).forEach(([i, item]) => {
    if (item.endpoint !== undefined)
      problems.push(`${where}: gatehouse.limits[${i}].endpoint is only for top-level limits.`);
    rules.push(...expand(item, `yaml:${name}:${i}`, name, problems, `${where}: gatehouse.limits[${i}]`));
  });
  let price: Price | undefined;
  if (extensions.pricing !== undefined) {
    const parsed = priceSchema.safeParse(extensions.pricing);
    if (parsed.success)
      price = {
        inputPerMillion: parsed.data.input_per_million,
        outputPerMillion: parsed.data.output_per_million,
      };
    else problems.push(`${where}: gatehouse.pricing: ${describe(parsed.error)}`);
  }
  return { rules, ...(price ? { price } : {}) };
}

/** MLflow's `limit: {calls, renewal_period}` as a per-principal request limit on the endpoint. */
export function mlflowRule(
  name: string,
  limit: EndpointLimit | null,
  where: string,
  problems: string[],
): LimitRule | undefined {
  if (!limit) return undefined;
  const seconds = renewalPeriodSeconds(String(limit.renewal_period));
  if (!seconds) {
    problems.push(`${where}: limit.renewal_period '${String(limit.renewal_period)}' is not a period.`);
    return undefined;
  }
  return {
    id: `mlflow:${name}`,
    source: 'mlflow',
    scope: 'principal',
    subject: null,
    endpoint: name,
    metric: 'requests',
    windowMs: seconds * 1000,
    limit: limit.calls,
  };
}
