import { ConversationTurnEntity } from 'src/modules/conversations/entities/conversation-turn.entity';
import { ConversationEntity } from 'src/modules/conversations/entities/conversation.entity';

export const CONVERSATION_ENTITIES = [ConversationEntity, ConversationTurnEntity];
