import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { CACHE_INVALIDATED_EVENT, CacheInvalidatedEvent } from 'src/modules/cache/cache.events';
import { SemanticCacheRepository } from 'src/modules/knowledge/semantic-cache.repository';
import { VectorSupport } from 'src/modules/knowledge/vector-support.service';

/** The cache admin's invalidations (`POST /admin/v1/cache/invalidations`) reach the semantic cache too. */
@Injectable()
export class SemanticCacheInvalidation {
  constructor(
    private readonly vectors: VectorSupport,
    private readonly repository: SemanticCacheRepository,
  ) {}

  @OnEvent(CACHE_INVALIDATED_EVENT)
  async onInvalidated(event: CacheInvalidatedEvent): Promise<number> {
    if (!this.vectors.ready) return 0;
    return this.repository.invalidate(event.endpoint, event.teamId ? `team:${event.teamId}` : undefined);
  }
}
