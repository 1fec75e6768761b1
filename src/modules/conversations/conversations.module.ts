import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CONVERSATION_ENTITIES } from 'src/modules/conversations/entities/conversation.entities';
import { ConversationQueryService } from 'src/modules/conversations/conversation-query.service';
import { ConversationRepository } from 'src/modules/conversations/conversation.repository';
import { ConversationService } from 'src/modules/conversations/conversation.service';
import { ConversationSummarizer } from 'src/modules/conversations/conversation-summarizer';
import { ConversationsController } from 'src/modules/conversations/conversations.controller';
import { PipelineCoreModule } from 'src/modules/pipeline/pipeline-core.module';
import { RoutingModule } from 'src/modules/routing/routing.module';
import { TokensModule } from 'src/modules/tokens/tokens.module';

@Module({
  imports: [RoutingModule, TokensModule, PipelineCoreModule, TypeOrmModule.forFeature(CONVERSATION_ENTITIES)],
  controllers: [ConversationsController],
  providers: [ConversationRepository, ConversationService, ConversationQueryService, ConversationSummarizer],
  exports: [ConversationService],
})
export class ConversationsModule {}
