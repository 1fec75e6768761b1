import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A team's guardrail override for one endpoint (`*` = every endpoint): a policy name or an inline policy. */
@Entity('moderation_team_policies')
export class ModerationTeamPolicyEntity {
  @PrimaryColumn({ name: 'team_id', type: 'varchar', length: 128 })
  teamId!: string;

  @PrimaryColumn({ type: 'varchar', length: 256 })
  endpoint!: string;

  /** Exactly what the admin sent (validated): `"strict"`, `"none"` or `{input, output, stream_window}`. */
  @Column({ type: 'jsonb' })
  policy!: unknown;

  @Column({ name: 'updated_by', type: 'varchar', length: 256, nullable: true })
  updatedBy!: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
