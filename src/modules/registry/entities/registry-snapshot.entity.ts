import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { RegistryModel } from 'src/modules/registry/registry.types';

/** The last synced view of the MLflow Model Registry (one row per tracking server; `id` = 'default'). */
@Entity('registry_snapshots')
export class RegistrySnapshotEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'char', length: 64 })
  hash!: string;

  @Column({ type: 'jsonb' })
  models!: RegistryModel[];

  @Column({ name: 'synced_at', type: 'timestamptz' })
  syncedAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
