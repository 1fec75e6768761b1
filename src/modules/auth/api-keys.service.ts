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
      const created = await this.repository.insertKey(
        {
          principalId: owner.id,
          name: dto.name,
          prefix: minted.prefix,
          sha256: minted.sha256,
          permissions: dto.permissions ?? null,
          endpoints: dto.endpoints ?? null,
          expiresAt: dto.expiresInSeconds ? new Date(Date.now() + dto.expiresInSeconds * 1000) : null,
        },
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
