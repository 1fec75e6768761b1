import { Controller, Delete, Get, HttpCode, Param, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { principalOf } from 'src/common/auth/principal';
import { ConversationDto, ConversationListDto } from 'src/modules/conversations/dto/conversation.dto';
import { ConversationQueryService } from 'src/modules/conversations/conversation-query.service';

/** The caller's own conversations (team-scoped); anyone else's answer 404. */
@ApiTags('Conversations')
@Controller('v1/conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationQueryService) {}

  @Get()
  @RequirePermission('conversations.read')
  @ApiOperation({ summary: 'List your conversations, most recently used first' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'offset', required: false })
  list(
    @Req() request: FastifyRequest,
    @Query('limit') limit: string | undefined,
    @Query('offset') offset: string | undefined,
  ): Promise<ConversationListDto> {
    return this.conversations.list(principalOf(request), limit, offset);
  }

  @Get(':id')
  @RequirePermission('conversations.read')
  @ApiOperation({ summary: 'Read a conversation: system prompt, running summary and stored turns' })
  get(@Req() request: FastifyRequest, @Param('id') id: string): Promise<ConversationDto> {
    return this.conversations.get(principalOf(request), id);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('conversations.write')
  @ApiOperation({ summary: 'Delete a conversation and all its content' })
  delete(@Req() request: FastifyRequest, @Param('id') id: string): Promise<void> {
    return this.conversations.delete(principalOf(request), id);
  }
}
