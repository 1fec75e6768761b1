import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { SealedSecret } from 'src/modules/secrets/secret.cipher';

export interface SecretRow extends SealedSecret {
  name: string;
  /** Owning team; null = global (admin-owned). */
  ownerTeamId: string | null;
  /** Other teams that may reference the secret from admin-API configuration. */
  allowedTeamIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface SecretAccess {
  ownerTeamId: string | null;
  allowedTeamIds: string[];
}

@Injectable()
export class SecretsRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async all(m?: EntityManager): Promise<SecretRow[]> {
    const rows: Record<string, unknown>[] = await (m ?? this.dataSource.manager).query(
      'SELECT * FROM provider_secrets ORDER BY name',
    );
    return rows.map((r) => ({
      name: r.name as string,
      keyVersion: r.key_version as number,
      iv: r.iv as Buffer,
      tag: r.tag as Buffer,
      ciphertext: r.ciphertext as Buffer,
      ownerTeamId: (r.owner_team_id as string | null) ?? null,
      allowedTeamIds: teamIds(r.allowed_team_ids),
      createdAt: new Date(r.created_at as string),
      updatedAt: new Date(r.updated_at as string),
    }));
  }

  async find(name: string, m: EntityManager): Promise<SecretRow | undefined> {
    return (await this.all(m)).find((row) => row.name === name);
  }

  async upsert(
    name: string,
    sealed: SealedSecret,
    access: SecretAccess,
    m: EntityManager,
  ): Promise<{ created: boolean }> {
    const rows: { created: boolean }[] = await m.query(
      `INSERT INTO provider_secrets (name, key_version, iv, tag, ciphertext, owner_team_id, allowed_team_ids)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
       ON CONFLICT (name) DO UPDATE SET key_version = $2, iv = $3, tag = $4, ciphertext = $5,
         owner_team_id = $6, allowed_team_ids = $7::jsonb, updated_at = now()
       RETURNING (xmax = 0) AS created`,
      [
        name,
        sealed.keyVersion,
        sealed.iv,
        sealed.tag,
        sealed.ciphertext,
        access.ownerTeamId,
        JSON.stringify(access.allowedTeamIds),
      ],
    );
    return rows[0];
  }

  /** The given team ids that do not exist. */
  async unknownTeams(ids: readonly string[], m: EntityManager): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows: { id: string }[] = await m.query(
      'SELECT id::text AS id FROM auth_teams WHERE id::text IN (SELECT jsonb_array_elements_text($1::jsonb))',
      [JSON.stringify(ids)],
    );
    const known = new Set(rows.map((r) => r.id));
    return ids.filter((id) => !known.has(id));
  }

  async remove(name: string, m: EntityManager): Promise<boolean> {
    const result: unknown = await m.query('DELETE FROM provider_secrets WHERE name = $1 RETURNING name', [
      name,
    ]);
    const rows =
      Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as unknown[]) : (result as unknown[]);
    return rows.length > 0;
  }
}

function teamIds(value: unknown): string[] {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
}
