import { Principal } from 'src/common/auth/principal';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

/** The team owning an admin object; `null` = global, owned by the admins. */
export type OwnerTeam = string | null;

/** The permission that lifts the team boundary (the admin role holds it). */
export const TENANCY_ALL = 'tenancy.all';

/** What a caller may be shown of a secret-bearing field (webhook URLs, tokens) it may not read. */
export const REDACTED = '[redacted]';

/**
 * The one ownership model of every admin object (endpoints, routes, prompts, prompt APIs, cache
 * policies, guardrail overrides, limits, budgets). Each admin service asks it, never decides alone:
 *
 * - read: admins everything; others global objects and their own team's (other teams' answer 404,
 *   so their names cannot be probed);
 * - change or delete: the handler's permission (checked by the guard) and ownership: admins any
 *   object, others only their own team's (global ones answer 403, other teams' 404);
 * - create: a non-admin creates for its own team only; a teamless non-admin creates nothing;
 * - settings that weaken another tenant's isolation are admin-only (`adminOnly`);
 * - secrets inside objects (webhook URLs) are shown to admins only (`secretFor`).
 */
export const TenancyPolicy = {
  isAdmin(actor: Principal): boolean {
    return actor.permissions.has(TENANCY_ALL);
  },

  canRead(actor: Principal, owner: OwnerTeam): boolean {
    return this.isAdmin(actor) || owner === null || owner === actor.teamId;
  },

  /** Only the owning team (or an admin) may read it: objects whose contents are private even when global. */
  canReadPrivate(actor: Principal, owner: OwnerTeam): boolean {
    return this.isAdmin(actor) || (owner !== null && owner === actor.teamId);
  },

  canChange(actor: Principal, owner: OwnerTeam): boolean {
    return this.isAdmin(actor) || (owner !== null && owner === actor.teamId);
  },

  assertRead(actor: Principal, owner: OwnerTeam, what: string): void {
    if (!this.canRead(actor, owner)) throw notFound(what);
  },

  assertChange(actor: Principal, owner: OwnerTeam, what: string): void {
    if (this.canChange(actor, owner)) return;
    if (!this.canRead(actor, owner)) throw notFound(what);
    throw forbidden(`${capitalised(what)} is global and owned by the admins; only an admin may change it.`);
  },

  /**
   * The owner of a new object. Admins may name any team (default: none, global); others get their
   * own team and may not name another.
   */
  ownerForNew(actor: Principal, requested?: OwnerTeam): OwnerTeam {
    // What an admin creates is shared configuration: global unless a team is named.
    if (this.isAdmin(actor)) return requested ?? null;
    if (actor.teamId === null) {
      throw forbidden('A principal without a team cannot create shared objects; ask an admin.');
    }
    if (requested !== undefined && requested !== actor.teamId) {
      throw forbidden("You can create objects for your own team only (or ask an admin for another team's).");
    }
    return actor.teamId;
  },

  /** A setting that weakens another tenant's isolation: admins only, whoever owns the object. */
  assertAdminOnly(actor: Principal, setting: string): void {
    if (!this.isAdmin(actor)) throw forbidden(`${capitalised(setting)} can be set by an admin only.`);
  },

  visible<T>(actor: Principal, items: readonly T[], ownerOf: (item: T) => OwnerTeam): T[] {
    return this.isAdmin(actor) ? [...items] : items.filter((item) => this.canRead(actor, ownerOf(item)));
  },

  /** A secret-bearing value as the caller may see it: itself for admins, a marker for anyone else. */
  secretFor(actor: Principal, value: string | null): string | null {
    return value === null || this.isAdmin(actor) ? value : REDACTED;
  },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a value can name a team (team ids are UUIDs; free-form names from paths or bodies are not). */
export function isTeamId(value: string | null | undefined): value is string {
  return typeof value === 'string' && UUID.test(value);
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function notFound(what: string): GatewayException {
  return new GatewayException(404, GatewayErrorCode.ObjectNotFound, `No ${what}.`);
}

function forbidden(message: string): GatewayException {
  return new GatewayException(403, GatewayErrorCode.PermissionDenied, message, { type: 'permission_error' });
}
