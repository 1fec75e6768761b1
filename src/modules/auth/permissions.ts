/**
 * The one place roles become permissions. A permission is `resource.action`; handlers declare the one
 * they need with @RequirePermission. `tenancy.all` lifts the team boundary (objects of other teams).
 */
export const PERMISSIONS = [
  'self.read',
  'inference.invoke',
  'endpoints.read',
  'keys.self',
  'keys.read',
  'keys.write',
  'teams.read',
  'teams.write',
  'principals.read',
  'principals.write',
  'grants.read',
  'grants.write',
  'subscriptions.request',
  'subscriptions.read',
  'subscriptions.decide',
  'audit.read',
  'secrets.read',
  'secrets.write',
  'registry.read',
  'registry.sync',
  'prompts.read',
  'prompts.write',
  'conversations.read',
  'conversations.write',
  'cache.admin',
  'moderation.admin',
  'tenancy.all',
  'routing.read',
  'routing.write',
  'billing.read',
  'billing.admin',
  'metrics.read',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['admin', 'operator', 'developer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

const VIEWER: Permission[] = [
  'self.read',
  'endpoints.read',
  'subscriptions.read',
  'registry.read',
  'prompts.read',
  'routing.read',
  'billing.read',
];
const DEVELOPER: Permission[] = [
  ...VIEWER,
  'inference.invoke',
  'keys.self',
  'subscriptions.request',
  'conversations.read',
  'conversations.write',
];
const OPERATOR: Permission[] = [
  ...DEVELOPER,
  'keys.read',
  'keys.write',
  'principals.read',
  'teams.read',
  'grants.read',
  'audit.read',
  'registry.sync',
  'prompts.write',
  'cache.admin',
  'routing.write',
  'metrics.read',
];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  viewer: VIEWER,
  developer: DEVELOPER,
  operator: OPERATOR,
  admin: PERMISSIONS,
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** Unknown role names (e.g. an IdP group the gateway does not know) grant nothing. */
export function permissionsOf(roles: readonly string[]): Set<string> {
  const result = new Set<string>();
  for (const role of roles) if (isRole(role)) for (const p of ROLE_PERMISSIONS[role]) result.add(p);
  return result;
}
