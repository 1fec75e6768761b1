import { Global, Module } from '@nestjs/common';
import { RedisClient } from 'src/infra/redis/redis.client';

/** Shared Redis access for every module (created only when REDIS_URL is set; see RedisClient). */
@Global()
@Module({ providers: [RedisClient], exports: [RedisClient] })
export class RedisModule {}
