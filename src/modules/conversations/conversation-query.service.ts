import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Principal } from 'src/common/auth/principal';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import {
  ConversationDto,
  ConversationListDto,
  toConversationDto,
  toSummaryDto,
} from 'src/modules/conversations/dto/conversation.dto';
import { ConversationException } from 'src/modules/conversations/conversation.exception';
import { CONVERSATION_ID, ownerOf } from 'src/modules/conversations/conversation-owner';
import { ConversationRepository } from 'src/modules/conversations/conversation.repository';

/** Longest transcript returned by one read. */
const MAX_READ_TURNS = 1_000;

/** List, read and delete a caller's own conversations; expire old ones. Others' conversations are 404. */
@Injectable()
export class ConversationQueryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Conversations');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repository: ConversationRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.CONVERSATION_SWEEP_INTERVAL_MS;
    if (every > 0) {
      this.timer = setInterval(() => void this.sweepSafely(), every);
      this.timer.unref();
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async list(
    principal: Principal | undefined,
    limit?: string,
    offset?: string,
  ): Promise<ConversationListDto> {
    const take = parseBound(limit, 20, 1, 100, 'limit');
    const skip = parseBound(offset, 0, 0, 1_000_000, 'offset');
    const rows = await this.repository.list(ownerOf(principal).scope, take + 1, skip);
    return { object: 'list', data: rows.slice(0, take).map(toSummaryDto), has_more: rows.length > take };
  }

  async get(principal: Principal | undefined, id: string): Promise<ConversationDto> {
    if (!CONVERSATION_ID.test(id)) throw ConversationException.notFound();
    const conversation = await this.repository.find(ownerOf(principal).scope, id);
    if (!conversation) throw ConversationException.notFound();
    const turns = await this.repository.turns(conversation.id, 0, MAX_READ_TURNS);
    return toConversationDto(conversation, turns);
  }

  /** Deletes a conversation with all its turns. */
  async delete(principal: Principal | undefined, id: string): Promise<void> {
    if (!CONVERSATION_ID.test(id) || !(await this.repository.delete(ownerOf(principal).scope, id))) {
      throw ConversationException.notFound();
    }
  }

  /** Deletes expired conversations; idempotent, so every replica may run it. */
  sweep(): Promise<number> {
    return this.repository.sweep();
  }

  private async sweepSafely(): Promise<void> {
    try {
      const removed = await this.sweep();
      if (removed > 0) this.logger.log(`expired ${removed} conversations`);
    } catch (error) {
      this.logger.warn(`conversation sweep failed: ${error instanceof Error ? error.message : 'error'}`);
    }
  }
}

function parseBound(
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  name: string,
): number {
  if (raw === undefined) return fallback;
  const value = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    throw ConversationException.invalid(`'${name}' must be an integer from ${min} to ${max}.`, name);
  }
  return value;
}
