import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RegistrySnapshotEntity } from 'src/modules/registry/entities/registry-snapshot.entity';
import { RegistrySnapshot } from 'src/modules/registry/registry.types';

const SNAPSHOT_ID = 'default';
/** Arbitrary constant shared by every replica: "gatehouse registry sync". */
const SYNC_LOCK_KEY = 7_402_118_312;

export type LockedSync =
  { locked: false } | { locked: true; snapshot: RegistrySnapshot | undefined; written: boolean };

@Injectable()
export class RegistrySnapshotRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async load(): Promise<RegistrySnapshot | undefined> {
    const row = await this.dataSource
      .getRepository(RegistrySnapshotEntity)
      .findOne({ where: { id: SNAPSHOT_ID } });
    if (!row) return undefined;
    return { models: row.models, hash: row.hash.trim(), syncedAt: row.syncedAt.toISOString() };
  }

  /**
   * Runs `fetch` while holding a transaction-scoped advisory lock, so one replica at a time syncs;
   * stores what it returns (unless its hash is already stored). Another replica holding the lock →
   * `{ locked: false }` without waiting.
   */
  async withSyncLock(fetch: () => Promise<RegistrySnapshot>): Promise<LockedSync> {
    return this.dataSource.transaction(async (manager) => {
      const rows: { locked: boolean }[] = await manager.query<{ locked: boolean }[]>(
        'SELECT pg_try_advisory_xact_lock($1) AS locked',
        [SYNC_LOCK_KEY],
      );
      const locked = rows[0]?.locked === true;
      if (!locked) return { locked: false };
      const snapshot = await fetch();
      const repository = manager.getRepository(RegistrySnapshotEntity);
      const stored = await repository.findOne({
        where: { id: SNAPSHOT_ID },
        select: { id: true, hash: true },
      });
      if (stored?.hash.trim() === snapshot.hash) {
        await repository.update({ id: SNAPSHOT_ID }, { syncedAt: new Date(snapshot.syncedAt) });
        return { locked: true, snapshot, written: false };
      }
      await repository.save({
        id: SNAPSHOT_ID,
        hash: snapshot.hash,
        models: snapshot.models,
        syncedAt: new Date(snapshot.syncedAt),
      });
      return { locked: true, snapshot, written: true };
    });
  }
}
