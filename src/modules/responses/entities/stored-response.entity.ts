import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One stored Responses API answer (see the stored-responses migration). */
@Entity('stored_responses')
export class StoredResponseEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ name: 'owner_scope', type: 'varchar', length: 300 })
  ownerScope!: string;

  @Column({ name: 'principal_id', type: 'varchar', length: 256, nullable: true })
  principalId!: string | null;

  @Column({ name: 'team_id', type: 'varchar', length: 256, nullable: true })
  teamId!: string | null;

  @Column({ type: 'varchar', length: 256 })
  endpoint!: string;

  /** The response object exactly as the caller received it (or, streamed, as response.completed carried it). */
  @Column({ type: 'jsonb' })
  response!: Record<string, unknown>;

  /** This turn's input items, normalised (each with an id). */
  @Column({ name: 'input_items', type: 'jsonb' })
  inputItems!: Record<string, unknown>[];

  /** The conversation items before this turn (the previous responses' inputs and outputs). */
  @Column({ name: 'context_items', type: 'jsonb' })
  contextItems!: Record<string, unknown>[];

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
