import { z } from 'zod';

export const GROUP_BYS = [
  'team',
  'key',
  'principal',
  'endpoint',
  'model',
  'prompt',
  'day',
  'outcome',
] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

/**
 * A point in time: an ISO 8601 date-time with offset (`2026-11-01T00:00:00Z`) or a calendar date
 * (`2026-11-01`, a whole UTC day). As `to`, a date means the end of that day (inclusive); a date-time is
 * an exclusive bound.
 */
const instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()], {
  error: 'must be an ISO 8601 date (2026-11-01) or date-time with offset (2026-11-01T00:00:00Z)',
});

const text = z.string().min(1).max(256);

const filters = {
  from: instant.optional(),
  to: instant.optional(),
  teamId: text.optional(),
  /** Not `key`: credentials-looking query parameters are refused gateway-wide. */
  apiKeyId: text.optional(),
  principalId: text.optional(),
  endpoint: text.optional(),
  model: text.optional(),
  provider: text.optional(),
  outcome: z.enum(['success', 'error', 'cache_hit', 'cancelled']).optional(),
  status: z.coerce.number().int().min(100).max(599).optional(),
};

/** GET /admin/v1/usage */
export const UsageQueryDto = z.strictObject({
  ...filters,
  groupBy: z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()))
    .pipe(z.array(z.enum(GROUP_BYS)).min(1).max(4))
    .optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
});
export type UsageQuery = z.infer<typeof UsageQueryDto>;

/** GET /admin/v1/usage/records */
export const UsageRecordsQueryDto = z.strictObject({
  ...filters,
  requestId: z.string().min(1).max(128).optional(),
  /** Cursor from the previous page's `next`. */
  before: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,200}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});
export type UsageRecordsQuery = z.infer<typeof UsageRecordsQueryDto>;

/** GET /admin/v1/usage/timeseries: the dashboard's charts (one point per bucket, empty buckets included). */
export const BUCKETS = { minute: 60, hour: 3_600, day: 86_400 } as const;
export const SERIES_GROUP_BYS = ['endpoint', 'team', 'model', 'provider', 'prompt'] as const;
export type SeriesGroupBy = (typeof SERIES_GROUP_BYS)[number];
export const UsageSeriesQueryDto = z.strictObject({
  ...filters,
  bucket: z.enum(['minute', 'hour', 'day']).default('hour'),
  /** One series per value (top `top` by requests over the period, the rest as one "other" series). */
  groupBy: z.enum(SERIES_GROUP_BYS).optional(),
  top: z.coerce.number().int().min(1).max(20).default(5),
});
export type UsageSeriesQuery = z.infer<typeof UsageSeriesQueryDto>;

/** GET /admin/v1/chargeback */
export const ChargebackQueryDto = z.strictObject({
  from: instant.optional(),
  to: instant.optional(),
  teamId: text.optional(),
  format: z.enum(['json', 'csv']).default('json'),
});
export type ChargebackQuery = z.infer<typeof ChargebackQueryDto>;

/** Filters after access scoping and date parsing (what the repository runs). */
export interface UsageFilter {
  from: Date;
  to: Date;
  team?: string | null;
  key?: string;
  principal?: string;
  endpoint?: string;
  model?: string;
  provider?: string;
  outcome?: string;
  status?: number;
  requestId?: string;
}
