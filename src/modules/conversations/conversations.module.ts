import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CONVERSATION_ENTITIES } from 'src/modules/conversations/entities/conversation.entities';
import { ConversationQueryService } from 'src/modules/conversations/conversation-query.service';
import { ConversationRepository } from 'src/modules/conversations/conversation.repository';
import { ConversationService } from 'src/modules/conversations/conversation.service';
import { ConversationSummarizer } from 'src/modules/conversations/conversation-summarizer';
import { ConversationsController } from 'src/modules/conversations/conversations.controller';
import { TokenCounter } from 'src/modules/conversations/token-counter';
import { RoutingModule } from 'src/modules/routing/routing.module';

@Module({
  imports: [RoutingModule, TypeOrmModule.forFeature(CONVERSATION_ENTITIES)],
  controllers: [ConversationsController],
  providers: [
    ConversationRepository,
    ConversationService,
    ConversationQueryService,
    ConversationSummarizer,
    TokenCounter,
  ],
  exports: [ConversationService, TokenCounter],
})
export class ConversationsModule {}
