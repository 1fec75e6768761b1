import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A rate limit or concurrency cap set through the admin API (see LimitRule for the meaning of the fields). */
@Entity('limit_rules')
export class LimitRuleEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  scope!: string;

  @Column({ type: 'varchar', length: 256, nullable: true })
  subject!: string | null;

  @Column({ type: 'varchar', length: 256, nullable: true })
  endpoint!: string | null;

  @Column({ type: 'varchar', length: 16 })
  metric!: string;

  @Column({ name: 'window_seconds', type: 'integer', nullable: true })
  windowSeconds!: number | null;

  @Column({ name: 'limit_value', type: 'bigint' })
  limitValue!: string;

  /** The owning team; null = global (admin-owned). */
  @Column({ name: 'team_id', type: 'uuid', nullable: true })
  teamId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
