import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, LessThanOrEqual, MoreThan } from 'typeorm';
import { ConversationTurnEntity } from 'src/modules/conversations/entities/conversation-turn.entity';
import { ConversationEntity } from 'src/modules/conversations/entities/conversation.entity';
import { ChatMessage } from 'src/modules/providers/provider-adapter';

export interface ConversationOwner {
  scope: string;
  principalId: string | null;
  teamId: string | null;
}

export interface TurnRecord {
  seq: number;
  message: ChatMessage;
  createdAt: Date;
}

export interface SaveTurns {
  owner: ConversationOwner;
  externalId: string;
  endpoint: string;
  systemMessages: ChatMessage[];
  summary: string | null;
  summarizedThrough: number;
  turns: ChatMessage[];
  expiresAt: Date;
}

/** Conversation storage. Every query is scoped by owner and ignores expired rows. */
@Injectable()
export class ConversationRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  find(scope: string, externalId: string): Promise<ConversationEntity | null> {
    return this.dataSource.manager.findOne(ConversationEntity, {
      where: { ownerScope: scope, externalId, expiresAt: MoreThan(new Date()) },
    });
  }

  /** The latest `limit` turns after `afterSeq`, oldest first. */
  async turns(conversationId: string, afterSeq: number, limit: number): Promise<TurnRecord[]> {
    const rows = await this.dataSource.manager.find(ConversationTurnEntity, {
      where: { conversationId, seq: MoreThan(afterSeq) },
      order: { seq: 'DESC' },
      take: limit,
    });
    return rows.reverse().map((r) => ({ seq: r.seq, message: r.message, createdAt: r.createdAt }));
  }

  /**
   * Appends turns atomically: the conversation row is created or updated (which locks it) and hands out
   * the next sequence numbers, so concurrent requests on one conversation never collide.
   */
  async append(save: SaveTurns): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await m.query(
        'DELETE FROM conversations WHERE owner_scope = $1 AND external_id = $2 AND expires_at <= $3',
        [save.owner.scope, save.externalId, new Date()],
      );
      const rows: { id: string; turn_count: number }[] = await m.query(
        `INSERT INTO conversations (id, owner_scope, external_id, principal_id, team_id, endpoint, system_messages,
                                    summary, summarized_through, turn_count, created_at, updated_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), now(), $11)
         ON CONFLICT (owner_scope, external_id) DO UPDATE SET
           endpoint = EXCLUDED.endpoint,
           system_messages = EXCLUDED.system_messages,
           summary = CASE WHEN EXCLUDED.summarized_through >= conversations.summarized_through
                          THEN EXCLUDED.summary ELSE conversations.summary END,
           summarized_through = GREATEST(conversations.summarized_through, EXCLUDED.summarized_through),
           turn_count = conversations.turn_count + EXCLUDED.turn_count,
           updated_at = now(),
           expires_at = EXCLUDED.expires_at
         RETURNING id, turn_count`,
        [
          randomUUID(),
          save.owner.scope,
          save.externalId,
          save.owner.principalId,
          save.owner.teamId,
          save.endpoint,
          JSON.stringify(save.systemMessages),
          save.summary,
          save.summarizedThrough,
          save.turns.length,
          save.expiresAt,
        ],
      );
      const { id, turn_count: total } = rows[0];
      const first = total - save.turns.length + 1;
      for (const [index, message] of save.turns.entries()) {
        await m.query(
          'INSERT INTO conversation_turns (conversation_id, seq, role, message, created_at) VALUES ($1, $2, $3, $4, now())',
          [id, first + index, message.role, JSON.stringify(message)],
        );
      }
    });
  }

  list(scope: string, limit: number, offset: number): Promise<ConversationEntity[]> {
    return this.dataSource.manager.find(ConversationEntity, {
      where: { ownerScope: scope, expiresAt: MoreThan(new Date()) },
      order: { updatedAt: 'DESC', id: 'ASC' },
      take: limit,
      skip: offset,
    });
  }

  async delete(scope: string, externalId: string): Promise<boolean> {
    const result = await this.dataSource.manager.delete(ConversationEntity, {
      ownerScope: scope,
      externalId,
    });
    return (result.affected ?? 0) > 0;
  }

  /** Deletes expired conversations (their turns cascade); safe to run on every replica. */
  async sweep(): Promise<number> {
    const result = await this.dataSource.manager.delete(ConversationEntity, {
      expiresAt: LessThanOrEqual(new Date()),
    });
    return result.affected ?? 0;
  }
}
