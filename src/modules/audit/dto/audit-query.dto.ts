import { z } from 'zod';

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
  before: z
    .string()
    .regex(/^\d{1,19}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
