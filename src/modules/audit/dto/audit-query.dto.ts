import { z } from 'zod';

const MAX_BIGINT = 9_223_372_036_854_775_807n;

/** Filters of GET /admin/v1/audit (query string). */
export const AuditQueryDto = z.strictObject({
  actorId: z.uuid().optional(),
  teamId: z.uuid().optional(),
  action: z.string().max(64).optional(),
  outcome: z.enum(['success', 'denied']).optional(),
  targetType: z.string().max(64).optional(),
  targetId: z.string().max(256).optional(),
  requestId: z.string().max(128).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  /** An audit id (PostgreSQL bigint): larger numbers are refused here, not by the database (a 500). */
  before: z
    .string()
    .regex(/^\d{1,19}$/, 'must be an audit entry id')
    .refine((v) => BigInt(v) <= MAX_BIGINT, 'must be an audit entry id')
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
