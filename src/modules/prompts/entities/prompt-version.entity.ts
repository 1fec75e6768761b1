import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TemplateMessage, VariableSpec } from 'src/modules/prompts/prompt.types';

@Entity('prompt_versions')
export class PromptVersionEntity {
  @PrimaryColumn({ name: 'template_id', type: 'uuid' })
  templateId!: string;

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  @Column({ type: 'jsonb' })
  messages!: TemplateMessage[];

  @Column({ type: 'jsonb' })
  variables!: VariableSpec[];

  @Column({ type: 'jsonb' })
  params!: Record<string, unknown>;

  @Column({ name: 'commit_message', type: 'text' })
  commitMessage!: string;

  @Column({ name: 'created_by', type: 'varchar', length: 256, nullable: true })
  createdBy!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
