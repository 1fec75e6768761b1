import { ConversationEntity } from 'src/modules/conversations/entities/conversation.entity';
import { TurnRecord } from 'src/modules/conversations/conversation.repository';
import { ChatMessage } from 'src/modules/providers/provider-adapter';

export interface ConversationSummaryDto {
  id: string;
  object: 'conversation';
  endpoint: string;
  turns: number;
  created_at: string;
  updated_at: string;
  expires_at: string;
}

export interface ConversationDto extends ConversationSummaryDto {
  system: ChatMessage[];
  /** The running summary of turns no longer sent verbatim (summarize strategy), if any. */
  summary: string | null;
  /** Turns up to this sequence number are covered by the summary. */
  summarized_through: number;
  messages: (ChatMessage & { seq: number; created_at: string })[];
}

export interface ConversationListDto {
  object: 'list';
  data: ConversationSummaryDto[];
  has_more: boolean;
}

export function toSummaryDto(c: ConversationEntity): ConversationSummaryDto {
  return {
    id: c.externalId,
    object: 'conversation',
    endpoint: c.endpoint,
    turns: c.turnCount,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
    expires_at: c.expiresAt.toISOString(),
  };
}

export function toConversationDto(c: ConversationEntity, turns: TurnRecord[]): ConversationDto {
  return {
    ...toSummaryDto(c),
    system: c.systemMessages,
    summary: c.summary,
    summarized_through: c.summarizedThrough,
    messages: turns.map((t) => ({ ...t.message, seq: t.seq, created_at: t.createdAt.toISOString() })),
  };
}
