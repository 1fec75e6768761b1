import { Column, Entity, PrimaryColumn } from 'typeorm';
import { ChatMessage } from 'src/modules/providers/provider-adapter';

@Entity('conversations')
export class ConversationEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'owner_scope', type: 'varchar', length: 300 })
  ownerScope!: string;

  @Column({ name: 'external_id', type: 'varchar', length: 128 })
  externalId!: string;

  @Column({ name: 'principal_id', type: 'varchar', length: 256, nullable: true })
  principalId!: string | null;

  @Column({ name: 'team_id', type: 'varchar', length: 256, nullable: true })
  teamId!: string | null;

  @Column({ type: 'varchar', length: 256 })
  endpoint!: string;

  @Column({ name: 'system_messages', type: 'jsonb' })
  systemMessages!: ChatMessage[];

  @Column({ type: 'text', nullable: true })
  summary!: string | null;

  @Column({ name: 'summarized_through', type: 'integer' })
  summarizedThrough!: number;

  @Column({ name: 'turn_count', type: 'integer' })
  turnCount!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
