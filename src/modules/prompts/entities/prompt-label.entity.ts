import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('prompt_labels')
export class PromptLabelEntity {
  @PrimaryColumn({ name: 'template_id', type: 'uuid' })
  templateId!: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  label!: string;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
