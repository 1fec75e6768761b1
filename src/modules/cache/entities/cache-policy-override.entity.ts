import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** An admin's cache policy for one endpoint, layered over the endpoint's YAML policy (null = keep YAML's). */
@Entity('cache_policy_overrides')
export class CachePolicyOverrideEntity {
  @PrimaryColumn({ name: 'endpoint_name', type: 'varchar', length: 256 })
  endpointName!: string;

  @Column({ type: 'boolean', nullable: true })
  enabled!: boolean | null;

  @Column({ name: 'ttl_seconds', type: 'integer', nullable: true })
  ttlSeconds!: number | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  scope!: string | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  requests!: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
