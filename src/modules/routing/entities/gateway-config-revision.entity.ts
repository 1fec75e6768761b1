import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One attempt to apply gateway.yaml: what was applied or why it was refused. Holds no config values (secrets). */
@Entity('gateway_config_revisions')
export class GatewayConfigRevisionEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'char', length: 64 })
  sha256!: string;

  @Column({ type: 'varchar', length: 32 })
  source!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: 'applied' | 'rejected';

  @Column({ name: 'endpoint_names', type: 'jsonb' })
  endpointNames!: string[];

  @Column({ name: 'route_names', type: 'jsonb' })
  routeNames!: string[];

  @Column({ type: 'jsonb' })
  problems!: string[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
