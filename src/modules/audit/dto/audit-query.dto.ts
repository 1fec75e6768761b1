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

const nullableString = { type: 'string', nullable: true };

/** OpenAPI form of the filters (the web console's typed client reads them); the zod schema above decides. */
export const AUDIT_QUERY_PARAMS = [
  { name: 'actorId', description: 'principal id' },
  { name: 'teamId', description: 'team id (admins; others see their own team)' },
  { name: 'action', description: 'e.g. `routing.endpoint.update`, `product.retire`' },
  { name: 'outcome', enum: ['success', 'denied'] },
  { name: 'targetType' },
  { name: 'targetId' },
  { name: 'requestId' },
  { name: 'since', description: 'ISO 8601 date-time with offset' },
  { name: 'until', description: 'ISO 8601 date-time with offset' },
  { name: 'before', description: 'id of the last entry of the previous page' },
  { name: 'limit', type: Number, description: '1 to 500 (default 100)' },
].map((p) => ({ type: String, required: false, ...p }));

export const AUDIT_PAGE_VIEW = {
  type: 'object',
  required: ['entries', 'next'],
  properties: {
    entries: {
      type: 'array',
      items: {
        type: 'object',
        required: [
          'id',
          'at',
          'actorId',
          'actorName',
          'teamId',
          'action',
          'outcome',
          'targetType',
          'targetId',
          'requestId',
          'source',
        ],
        properties: {
          id: { type: 'string' },
          at: { type: 'string', format: 'date-time' },
          actorId: nullableString,
          actorName: nullableString,
          teamId: nullableString,
          action: { type: 'string' },
          outcome: { type: 'string', enum: ['success', 'denied'] },
          targetType: { type: 'string' },
          targetId: nullableString,
          requestId: nullableString,
          source: nullableString,
          before: { nullable: true },
          after: { nullable: true },
        },
      },
    },
    next: { ...nullableString, description: 'pass as `before` for the next page' },
  },
};
