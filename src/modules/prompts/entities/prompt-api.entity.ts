import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('prompt_apis')
export class PromptApiEntity {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ name: 'template_name', type: 'varchar', length: 128 })
  templateName!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  label!: string | null;

  @Column({ type: 'integer', nullable: true })
  version!: number | null;

  @Column({ type: 'varchar', length: 256 })
  endpoint!: string;

  @Column({ type: 'text' })
  description!: string;

  @Column({ name: 'output_schema', type: 'jsonb', nullable: true })
  outputSchema!: Record<string, unknown> | null;

  @Column({ name: 'structured_output', type: 'boolean' })
  structuredOutput!: boolean;

  /** The owning team; null = global (admin-owned). */
  @Column({ name: 'team_id', type: 'uuid', nullable: true })
  teamId!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
