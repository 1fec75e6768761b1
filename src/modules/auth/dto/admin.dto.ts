import { z } from 'zod';
import { PERMISSIONS, ROLES } from 'src/modules/auth/permissions';
import {
  ApiKeyRecord,
  GrantRecord,
  PrincipalRecord,
  SubscriptionRecord,
  TeamRecord,
} from 'src/modules/auth/auth.records';

const name = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.@ -]*$/, 'letters, digits, space, and _ . @ - only');
/** Endpoint name patterns: endpoint-name characters plus `*`. */
const pattern = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9_\-.*]+$/, "endpoint name characters and '*' only");
const role = z.enum(ROLES);
const permission = z.enum(PERMISSIONS);

export const CreateTeamDto = z.strictObject({ name, description: z.string().max(512).default('') });
export const UpdateTeamDto = z.strictObject({ description: z.string().max(512) });

export const CreatePrincipalDto = z
  .strictObject({
    kind: z.enum(['user', 'service']),
    name: z.string().min(1).max(256),
    teamId: z.uuid().nullable().default(null),
    roles: z.array(role).max(4).default([]),
    /** For principals that authenticate with JWTs: the token's issuer and principal claim. */
    issuer: z.string().min(1).max(512).optional(),
    subject: z.string().min(1).max(512).optional(),
  })
  .refine((v) => (v.issuer === undefined) === (v.subject === undefined), {
    message: 'issuer and subject go together',
    path: ['subject'],
  });
export const UpdatePrincipalDto = z.strictObject({
  name: z.string().min(1).max(256).optional(),
  teamId: z.uuid().nullable().optional(),
  disabled: z.boolean().optional(),
});
export const SetRolesDto = z.strictObject({ roles: z.array(role).max(4) });

export const CreateApiKeyDto = z.strictObject({
  name: z.string().min(1).max(128),
  /** Owner; defaults to the caller. */
  principalId: z.uuid().optional(),
  permissions: z.array(permission).min(1).max(PERMISSIONS.length).optional(),
  endpoints: z.array(pattern).min(1).max(100).optional(),
  /** Lifetime in seconds (at most a year). Keys without it never expire: prefer setting it. */
  expiresInSeconds: z
    .number()
    .int()
    .min(60)
    .max(366 * 86_400)
    .optional(),
});
export const RotateApiKeyDto = z.strictObject({
  /** How long the old key keeps working, so callers can switch over (0 = revoke at once). */
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(0),
});

export const CreateGrantDto = z
  .strictObject({
    teamId: z.uuid().optional(),
    principalId: z.uuid().optional(),
    endpointPattern: pattern,
    /** For traffic routes: which destination endpoints the grantee reaches (default: all). */
    destinations: z.array(pattern).min(1).max(100).optional(),
  })
  .refine((v) => (v.teamId === undefined) !== (v.principalId === undefined), {
    message: 'exactly one of teamId and principalId',
    path: ['teamId'],
  });

export const RequestSubscriptionDto = z.strictObject({
  endpointPattern: pattern,
  reason: z.string().max(1024).default(''),
});
export const DecideSubscriptionDto = z.strictObject({ note: z.string().max(1024).optional() });

export const teamDto = (t: TeamRecord) => ({
  id: t.id,
  name: t.name,
  description: t.description,
  createdAt: t.createdAt.toISOString(),
});

export const principalDto = (p: PrincipalRecord) => ({
  id: p.id,
  kind: p.kind,
  name: p.name,
  teamId: p.teamId,
  roles: p.roles,
  issuer: p.issuer,
  subject: p.subject,
  disabled: p.disabled,
  createdAt: p.createdAt.toISOString(),
});

/** Never the hash: the prefix is enough to recognise a key. */
export const apiKeyDto = (k: ApiKeyRecord) => ({
  id: k.id,
  principalId: k.principalId,
  name: k.name,
  prefix: k.prefix,
  permissions: k.permissions,
  endpoints: k.endpoints,
  expiresAt: k.expiresAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
  createdAt: k.createdAt.toISOString(),
});

export const grantDto = (g: GrantRecord) => ({
  id: g.id,
  teamId: g.teamId,
  principalId: g.principalId,
  endpointPattern: g.endpointPattern,
  destinations: g.destinations,
  createdBy: g.createdBy,
  createdAt: g.createdAt.toISOString(),
});

export const subscriptionDto = (s: SubscriptionRecord) => ({
  id: s.id,
  principalId: s.principalId,
  teamId: s.teamId,
  endpointPattern: s.endpointPattern,
  reason: s.reason,
  status: s.status,
  decidedBy: s.decidedBy,
  decidedAt: s.decidedAt?.toISOString() ?? null,
  decisionNote: s.decisionNote,
  grantId: s.grantId,
  createdAt: s.createdAt.toISOString(),
});
