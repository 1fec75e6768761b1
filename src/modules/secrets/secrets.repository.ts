import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { SealedSecret } from 'src/modules/secrets/secret.cipher';

export interface SecretRow extends SealedSecret {
  name: string;
  createdAt: Date;
  updatedAt: Date;
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
      createdAt: new Date(r.created_at as string),
      updatedAt: new Date(r.updated_at as string),
    }));
  }

  async upsert(name: string, sealed: SealedSecret, m: EntityManager): Promise<{ created: boolean }> {
    const rows: { created: boolean }[] = await m.query(
      `INSERT INTO provider_secrets (name, key_version, iv, tag, ciphertext) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET key_version = $2, iv = $3, tag = $4, ciphertext = $5, updated_at = now()
       RETURNING (xmax = 0) AS created`,
      [name, sealed.keyVersion, sealed.iv, sealed.tag, sealed.ciphertext],
    );
    return rows[0];
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
