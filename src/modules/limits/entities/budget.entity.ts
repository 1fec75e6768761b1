import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A USD budget over a UTC period: `hard` refuses before the upstream call, `soft` only alerts. */
@Entity('budgets')
export class BudgetEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  scope!: string;

  @Column({ type: 'varchar', length: 256, nullable: true })
  subject!: string | null;

  @Column({ type: 'varchar', length: 256, nullable: true })
  endpoint!: string | null;

  @Column({ type: 'varchar', length: 16 })
  period!: string;

  @Column({ name: 'amount_usd', type: 'numeric', precision: 18, scale: 6 })
  amountUsd!: string;

  @Column({ type: 'varchar', length: 8 })
  mode!: string;

  @Column({ name: 'alert_webhook_url', type: 'varchar', length: 2048, nullable: true })
  alertWebhookUrl!: string | null;

  /** The owning team; null = global (admin-owned). */
  @Column({ name: 'team_id', type: 'uuid', nullable: true })
  teamId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
