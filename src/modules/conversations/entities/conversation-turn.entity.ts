import { Column, Entity, PrimaryColumn } from 'typeorm';
import { ChatMessage } from 'src/modules/providers/provider-adapter';

@Entity('conversation_turns')
export class ConversationTurnEntity {
  @PrimaryColumn({ name: 'conversation_id', type: 'uuid' })
  conversationId!: string;

  @PrimaryColumn({ type: 'integer' })
  seq!: number;

  @Column({ type: 'varchar', length: 32 })
  role!: string;

  @Column({ type: 'jsonb' })
  message!: ChatMessage;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
