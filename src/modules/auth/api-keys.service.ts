import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { EntityManager } from 'typeorm';
import { z } from 'zod';
import { Principal } from 'src/common/auth/principal';
import { AuditService } from 'src/modules/audit/audit.service';
import { actorOf, seesTeam } from 'src/modules/auth/actor';
import { mintApiKey } from 'src/modules/auth/api-key.codec';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { ApiKeyRecord, PrincipalRecord } from 'src/modules/auth/auth.records';
import { AuthRepository } from 'src/modules/auth/auth.repository';
import { AuthSnapshotService } from 'src/modules/auth/auth-snapshot.service';
import { apiKeyDto, CreateApiKeyDto, RotateApiKeyDto } from 'src/modules/auth/dto/admin.dto';
import { permissionsOf } from 'src/modules/auth/permissions';

export type CreatedKeyDto = ReturnType<typeof apiKeyDto> & { key: string };

/**
 * API keys: minted by an operator/admin for a principal of their team, or by a developer for
 * themselves; shown once; stored as SHA-256; scoped, expiring, rotatable, revocable.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly repository: AuthRepository,
    private readonly snapshot: AuthSnapshotService,
    private readonly audit: AuditService,
  ) {}

  async create(request: FastifyRequest, dto: z.infer<typeof CreateApiKeyDto>): Promise<CreatedKeyDto> {
    const actor = actorOf(request);
    const minted = mintApiKey();
    const key = await this.repository.transaction(async (m) => {
      const owner = await this.manageableOwner(actor, dto.principalId ?? actor.id, m);
      const parent = actor.apiKeyId ? await this.repository.findKey(actor.apiKeyId, m) : undefined;
      const scope = derivedScope(actor, parent ?? undefined, {
        permissions: dto.permissions ?? null,
        endpoints: dto.endpoints ?? null,
        expiresAt: dto.expiresInSeconds ? new Date(Date.now() + dto.expiresInSeconds * 1000) : null,
      });
      const created = await this.repository.insertKey(
        { principalId: owner.id, name: dto.name, prefix: minted.prefix, sha256: minted.sha256, ...scope },
        m,
      );
      await this.audit.change(
        request,
        {
          action: 'api_key.create',
          targetType: 'api_key',
          targetId: created.id,
          after: apiKeyDto(created),
          teamId: owner.teamId,
        },
        m,
      );
      return created;
    });
    await this.snapshot.changed();
    return { ...apiKeyDto(key), key: minted.plaintext };
  }

  async list(request: FastifyRequest) {
    const actor = actorOf(request);
    if (await this.scopedKey(actor)) {
      const own = await this.repository.findKey(actor.apiKeyId!);
      return own ? [apiKeyDto(own)] : [];
    }
    if (actor.permissions.has('tenancy.all')) return (await this.repository.listKeys({})).map(apiKeyDto);
    if (actor.permissions.has('keys.read')) {
      return (await this.repository.listKeys({ teamId: actor.teamId })).map(apiKeyDto);
    }
    return (await this.repository.listKeys({ principalId: actor.id })).map(apiKeyDto);
  }

  async get(request: FastifyRequest, id: string) {
    return apiKeyDto(await this.visibleKey(actorOf(request), id, false));
  }

  async revoke(request: FastifyRequest, id: string) {
    const actor = actorOf(request);
    const key = await this.repository.transaction(async (m) => {
      const before = await this.visibleKey(actor, id, true, m);
      const after = (await this.repository.revokeKey(id, new Date(), m))!;
      const owner = await this.repository.findPrincipal(after.principalId, m);
      await this.audit.change(
        request,
        {
          action: 'api_key.revoke',
          targetType: 'api_key',
          targetId: id,
          before: apiKeyDto(before),
          after: apiKeyDto(after),
          teamId: owner?.teamId ?? null,
        },
        m,
      );
      return after;
    });
    await this.snapshot.changed();
    return apiKeyDto(key);
  }

  /** A new key with the same owner and scope; the old one stops working after the grace period. */
  async rotate(
    request: FastifyRequest,
    id: string,
    dto: z.infer<typeof RotateApiKeyDto>,
  ): Promise<CreatedKeyDto> {
    const actor = actorOf(request);
    const minted = mintApiKey();
    const key = await this.repository.transaction(async (m) => {
      const old = await this.visibleKey(actor, id, true, m);
      if (old.revokedAt) throw AuthErrors.conflict('A revoked key cannot be rotated.');
      const created = await this.repository.insertKey(
        {
          principalId: old.principalId,
          name: old.name,
          prefix: minted.prefix,
          sha256: minted.sha256,
          permissions: old.permissions,
          endpoints: old.endpoints,
          expiresAt: old.expiresAt,
        },
        m,
      );
      if (dto.graceSeconds === 0) await this.repository.revokeKey(old.id, new Date(), m);
      await this.repository.expireKey(old.id, new Date(Date.now() + dto.graceSeconds * 1000), created.id, m);
      const owner = await this.repository.findPrincipal(old.principalId, m);
      await this.audit.change(
        request,
        {
          action: 'api_key.rotate',
          targetType: 'api_key',
          targetId: old.id,
          before: apiKeyDto(old),
          after: { replacedBy: created.id, graceSeconds: dto.graceSeconds },
          teamId: owner?.teamId ?? null,
        },
        m,
      );
      return created;
    });
    await this.snapshot.changed();
    return { ...apiKeyDto(key), key: minted.plaintext };
  }

  /** Authenticated with an API key narrower than its principal (permissions, endpoints or expiry). */
  private async scopedKey(actor: Principal, m?: EntityManager): Promise<boolean> {
    if (!actor.apiKeyId) return false;
    const key = await this.repository.findKey(actor.apiKeyId, m);
    return !key || key.permissions !== null || key.endpoints !== null || key.expiresAt !== null;
  }

  /** Own keys with keys.self; keys of the team's principals with keys.write; all with tenancy.all. */
  private async manageableOwner(
    actor: Principal,
    ownerId: string,
    m: EntityManager,
  ): Promise<PrincipalRecord> {
    const owner = await this.repository.findPrincipal(ownerId, m);
    if (!owner) throw AuthErrors.notFound('Principal');
    if (owner.id === actor.id && actor.permissions.has('keys.self')) return owner;
    if (!seesTeam(actor, owner.teamId)) throw AuthErrors.notFound('Principal');
    if (!actor.permissions.has('keys.write')) throw AuthErrors.forbidden("Missing permission 'keys.write'.");
    assertNotMorePrivileged(actor, owner);
    return owner;
  }

  private async visibleKey(
    actor: Principal,
    id: string,
    write: boolean,
    m?: EntityManager,
  ): Promise<ApiKeyRecord> {
    const key = await this.repository.findKey(id, m);
    if (!key) throw AuthErrors.notFound('API key');
    // A scoped key manages only itself: it must not revoke its principal's other keys, nor rotate
    // one into a fresh key of wider scope than its own.
    if (key.id !== actor.apiKeyId && (await this.scopedKey(actor, m))) throw AuthErrors.notFound('API key');
    if (key.principalId === actor.id) return key;
    const owner = await this.repository.findPrincipal(key.principalId, m);
    if (!owner || !seesTeam(actor, owner.teamId)) throw AuthErrors.notFound('API key');
    const needed = write ? 'keys.write' : 'keys.read';
    if (!actor.permissions.has(needed) && !actor.permissions.has('tenancy.all'))
      throw AuthErrors.notFound('API key');
    if (write) assertNotMorePrivileged(actor, owner);
    return key;
  }
}

/** Scope a new key is stored with: what was asked for, never wider than the key that asked. */
interface KeyScope {
  permissions: string[] | null;
  endpoints: string[] | null;
  expiresAt: Date | null;
}

/**
 * A key minted with an API key is a subset of that key: the same or fewer permissions (the caller's
 * effective ones), endpoints covered by the caller key's patterns, and an expiry no later than its own.
 * What the request leaves out is inherited. A JWT (no parent key) asks for what it wants.
 */
function derivedScope(actor: Principal, parent: ApiKeyRecord | undefined, wanted: KeyScope): KeyScope {
  if (!parent) return wanted;
  let permissions = wanted.permissions;
  if (permissions === null) {
    permissions = parent.permissions === null ? null : [...actor.permissions];
  } else {
    const wider = permissions.filter((p) => !actor.permissions.has(p));
    if (wider.length > 0) {
      throw AuthErrors.forbidden(
        `A key can only mint keys within its own scope; this key does not hold: ${wider.join(', ')}.`,
      );
    }
  }
  let endpoints = wanted.endpoints;
  if (parent.endpoints !== null) {
    if (endpoints === null) endpoints = [...parent.endpoints];
    const outside = endpoints.filter((p) => !parent.endpoints!.some((q) => patternCovers(q, p)));
    if (outside.length > 0) {
      throw AuthErrors.forbidden(
        `A key can only mint keys within its own scope; these endpoint patterns exceed it: ${outside.join(', ')}.`,
      );
    }
  }
  let expiresAt = wanted.expiresAt;
  if (parent.expiresAt !== null) {
    if (expiresAt === null) expiresAt = parent.expiresAt;
    else if (expiresAt > parent.expiresAt) {
      throw AuthErrors.forbidden(
        `A key can only mint keys that expire no later than itself (${parent.expiresAt.toISOString()}).`,
      );
    }
  }
  return { permissions, endpoints, expiresAt };
}

/**
 * Whether every name the endpoint pattern `inner` matches is matched by `outer` (`*` = any run of
 * characters). `outer`'s `*` may absorb literal characters and `inner`'s `*`; a literal of `outer` must
 * meet the same literal. Sound (never claims a cover that does not hold); O(|outer|·|inner|), both at
 * most 256 characters.
 */
export function patternCovers(outer: string, inner: string): boolean {
  const o = outer.replace(/\*+/g, '*');
  const i = inner.replace(/\*+/g, '*');
  // reach[k]: outer[0..j) can produce inner[0..k).
  let reach = new Array<boolean>(i.length + 1).fill(false);
  reach[0] = true;
  for (const ch of o) {
    const next = new Array<boolean>(i.length + 1).fill(false);
    if (ch === '*') {
      let any = false;
      for (let k = 0; k <= i.length; k++) {
        any = any || reach[k];
        next[k] = any;
      }
    } else {
      for (let k = 0; k < i.length; k++) if (reach[k] && i[k] === ch) next[k + 1] = true;
    }
    reach = next;
  }
  return reach[i.length];
}

/**
 * Minting or rotating a key for someone hands the caller that key: an operator must not obtain (or
 * revoke) the keys of a principal holding permissions the operator lacks, such as an admin in the team.
 */
function assertNotMorePrivileged(actor: Principal, owner: PrincipalRecord): void {
  if (actor.permissions.has('tenancy.all')) return;
  const missing = [...permissionsOf(owner.roles)].filter((p) => !actor.permissions.has(p));
  if (missing.length > 0) {
    throw AuthErrors.forbidden('You cannot manage the keys of a principal with more permissions than yours.');
  }
}
