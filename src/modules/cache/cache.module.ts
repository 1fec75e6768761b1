import { AuditModule } from 'src/modules/audit/audit.module';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { RedisClient } from 'src/infra/redis/redis.client';
import { CacheAdminController } from 'src/modules/cache/cache-admin.controller';
import { CacheAdminService } from 'src/modules/cache/cache-admin.service';
import { CachePolicyRepository } from 'src/modules/cache/cache-policy.repository';
import { CachePolicyService } from 'src/modules/cache/cache-policy.service';
import { CacheStatsService } from 'src/modules/cache/cache-stats.service';
import { CacheService } from 'src/modules/cache/cache.service';
import { CACHE_STORE } from 'src/modules/cache/cache.store';
import { CachePolicyOverrideEntity } from 'src/modules/cache/entities/cache-policy-override.entity';
import { MemoryCacheStore } from 'src/modules/cache/memory-cache.store';
import { RedisCacheStore } from 'src/modules/cache/redis-cache.store';
import { RoutingModule } from 'src/modules/routing/routing.module';
// Registers this module's `gatehouse.cache` compiler with the route table when this file is loaded, i.e. before
// Nest creates any provider, so before RouteConfigService builds the first table (see route-extension.registry).
import 'src/modules/cache/cache.route-extension';

@Module({
  imports: [RoutingModule, AuditModule, TypeOrmModule.forFeature([CachePolicyOverrideEntity])],
  controllers: [CacheAdminController],
  providers: [
    {
      provide: CACHE_STORE,
      inject: [APP_CONFIG, RedisClient],
      // Redis (shared by every replica) when REDIS_URL is set, else a byte-bounded in-process LRU.
      useFactory: (config: AppConfig, redis: RedisClient) =>
        redis.configured
          ? new RedisCacheStore(redis)
          : new MemoryCacheStore(config.CACHE_MEMORY_MAX_BYTES, config.CACHE_MAX_ENTRY_BYTES),
    },
    CachePolicyRepository,
    CachePolicyService,
    CacheStatsService,
    CacheService,
    CacheAdminService,
  ],
  exports: [CacheService, CacheStatsService],
})
export class CacheModule {}
