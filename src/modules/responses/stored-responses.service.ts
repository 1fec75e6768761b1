import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Principal } from 'src/common/auth/principal';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { conversationThrough, Item, ownerOf } from 'src/modules/responses/response-items';
import { StoredResponseException } from 'src/modules/responses/stored-response.exception';
import {
  NewStoredResponse,
  StoredResponseRepository,
} from 'src/modules/responses/stored-response.repository';

export interface InputItemsQuery {
  limit?: string;
  order?: string;
  after?: string;
}

export interface InputItemList {
  object: 'list';
  data: Item[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface DeletedResponse {
  id: string;
  object: 'response';
  deleted: true;
}

/**
 * Stored Responses API answers: written after the answer went out (never delaying it), read back by
 * their owner only. A read of an id whose write is still in flight on this replica waits for it, so a
 * client that follows up at once finds its response. Rows expire after RESPONSES_RETENTION_SECONDS
 * (OpenAI keeps responses 30 days) and are deleted by a sweep every RESPONSES_SWEEP_INTERVAL_MS.
 */
@Injectable()
export class StoredResponsesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('StoredResponses');
  private readonly pending = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repository: StoredResponseRepository,
    @Inject(APP_CONFIG)
    private readonly config: Pick<AppConfig, 'RESPONSES_RETENTION_SECONDS' | 'RESPONSES_SWEEP_INTERVAL_MS'>,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.RESPONSES_SWEEP_INTERVAL_MS;
    if (every > 0) {
      this.timer = setInterval(() => void this.sweepSafely(), every);
      this.timer.unref();
    }
  }

  /** Starts the write and returns at once; a failure is logged with the response id, never thrown. */
  save(row: Omit<NewStoredResponse, 'retentionSeconds'>): void {
    const write = this.repository
      .insert({ ...row, retentionSeconds: this.config.RESPONSES_RETENTION_SECONDS })
      .catch((error: unknown) => {
        this.logger.error(
          `storing response ${row.id} failed; it cannot be retrieved or continued: ${(error as Error).message}`,
        );
      })
      .finally(() => this.pending.delete(row.id));
    this.pending.set(row.id, write);
  }

  async get(principal: Principal | undefined, id: string): Promise<Item> {
    const row = await this.find(principal, id);
    if (!row) throw StoredResponseException.notFound(id);
    return row.response;
  }

  async delete(principal: Principal | undefined, id: string): Promise<DeletedResponse> {
    await this.pending.get(id);
    if (!(await this.repository.delete(ownerOf(principal).scope, id)))
      throw StoredResponseException.notFound(id);
    return { id, object: 'response', deleted: true };
  }

  /** The items the response was generated from (earlier turns included), OpenAI's list shape and paging. */
  async inputItems(
    principal: Principal | undefined,
    id: string,
    query: InputItemsQuery,
  ): Promise<InputItemList> {
    const limit = query.limit === undefined ? 20 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw StoredResponseException.badQuery('limit: Input should be an integer between 1 and 100', 'limit');
    const order = query.order ?? 'desc';
    if (order !== 'asc' && order !== 'desc')
      throw StoredResponseException.badQuery("order: Input should be 'asc' or 'desc'", 'order');
    const row = await this.find(principal, id);
    if (!row) throw StoredResponseException.notFound(id);
    const items = [...row.contextItems, ...row.inputItems];
    if (order === 'desc') items.reverse();
    let start = 0;
    if (query.after !== undefined) {
      start = items.findIndex((i) => i.id === query.after) + 1;
      if (start === 0)
        throw StoredResponseException.badQuery(`No input item with id '${query.after}'.`, 'after');
    }
    const data = items.slice(start, start + limit);
    return {
      object: 'list',
      data,
      first_id: (data[0]?.id as string | undefined) ?? null,
      last_id: (data.at(-1)?.id as string | undefined) ?? null,
      has_more: start + limit < items.length,
    };
  }

  /** The conversation a `previous_response_id` continues, oldest item first. */
  async conversation(principal: Principal | undefined, id: string): Promise<Item[]> {
    const row = await this.find(principal, id);
    if (!row) throw StoredResponseException.previousNotFound(id);
    return conversationThrough(row.contextItems, row.inputItems, row.response);
  }

  /** Deletes expired responses; idempotent, so every replica may run it. */
  sweep(): Promise<number> {
    return this.repository.sweep();
  }

  /** Writes still in flight finish before the process ends. */
  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.pending.values());
  }

  private async sweepSafely(): Promise<void> {
    try {
      const removed = await this.sweep();
      if (removed > 0) this.logger.log(`expired ${removed} stored responses`);
    } catch (error) {
      this.logger.warn(`stored response sweep failed: ${error instanceof Error ? error.message : 'error'}`);
    }
  }

  private async find(principal: Principal | undefined, id: string) {
    await this.pending.get(id);
    return this.repository.find(ownerOf(principal).scope, id);
  }
}
